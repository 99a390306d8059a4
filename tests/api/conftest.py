import pytest


@pytest.fixture(scope="session")
def model_dir(fitted, tmp_path_factory):
    return fitted.save(tmp_path_factory.mktemp("models") / "policy-test")
