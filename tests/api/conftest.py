import pytest

TRAIN = [
    ("Dismantle the smuggling networks that move people through the Darién.", ["enforcement"]),
    ("Border police arrested traffickers and deported migrants without a legal basis to remain.", ["enforcement"]),
    ("Panama increased repatriation flights for those without a right to stay.", ["enforcement"]),
    ("Safe Mobility Offices offer lawful pathways to the United States.", ["lawful_pathways"]),
    ("Parole and family reunification open legal channels for Venezuelans.", ["lawful_pathways"]),
    ("Colombia regularized 2.5 million Venezuelan migrants with temporary protected status.", ["lawful_pathways"]),
    ("Migrants perish in the jungle; we must protect vulnerable children and provide shelter.", ["humanitarian"]),
    ("Humanitarian assistance, food and health care for migrants at reception centers.", ["humanitarian"]),
    ("Protect the human rights of migrants and victims on the dangerous route.", ["humanitarian"]),
    ("Reduce poverty and create jobs in border communities to address root causes.", ["development"]),
    ("Investment and economic opportunity for host communities integrating migrants.", ["development"]),
    ("Private sector partnerships for socio-economic integration of migrants.", ["development"]),
    ("Preserve the rainforest ecosystem damaged by the migration route.", ["environment"]),
    ("Deforestation and pollution of rivers along the Darién crossing.", ["environment"]),
    ("Conservation of strategic ecosystems in the Darién National Park.", ["environment"]),
    ("The press secretary thanked everyone for coming to the briefing.", []),
    ("Tax enforcement against corporations raised revenue this quarter.", []),
    ("The vaccine development program reached a milestone.", []),
]


@pytest.fixture(scope="session")
def train_data():
    texts = [t for t, _ in TRAIN] * 2
    labels = [l for _, l in TRAIN] * 2
    return texts, labels


@pytest.fixture(scope="session")
def fitted(train_data):
    from darien_nlp.classifier import PolicyClassifier

    return PolicyClassifier(backend="static", cv=3).fit(*train_data)


@pytest.fixture(scope="session")
def model_dir(fitted, tmp_path_factory):
    return fitted.save(tmp_path_factory.mktemp("models") / "policy-test")
