"""Topic discovery over release corpora: ``TopicModel`` on BERTopic, category mix, over-time views, figures.

Importing this package is light: BERTopic, UMAP and HDBSCAN load only when a
model is fitted or loaded.

>>> from darien_nlp.topics import TopicModel
>>> TopicModel(reducer="pca").reducer
'pca'
"""
from .model import NotFittedError, TopicModel, stratified_sample
from .persistence import TopicModelLayout
from .vectorizer import BOILERPLATE_PHRASES, BoilerplateStripper, make_vectorizer, stop_words

__all__ = ["TopicModel", "NotFittedError", "stratified_sample", "TopicModelLayout", "BOILERPLATE_PHRASES",
           "BoilerplateStripper", "make_vectorizer", "stop_words"]
