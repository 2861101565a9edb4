import ics_model


def test_every_public_name_resolves():
    for name in ics_model.__all__:
        assert getattr(ics_model, name) is not None, name


def test_package_api_reaches_the_functions():
    assert ics_model.combine_ratings(["Outstanding", "Outstanding", "Good", "Good", "Good"]) == (
        "Outstanding"
    )
    assert ics_model.saf_rating([4, 4, 3, 3]) == "Outstanding"
    assert ics_model.__version__
