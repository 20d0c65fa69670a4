import pytest

from stockroom.catalog import (
    Catalog,
    CatalogError,
    Product,
    is_valid_sku,
    make_sku,
    normalize_sku,
    sku_number,
)


def sample_catalog():
    c = Catalog()
    c.add(Product("TOY-0001", "Red Ball", "Toys", "2.50"))
    c.add(Product("TOY-0007", "Blue Ball", "toys", "3.00"))
    c.add(Product("KIT-0002", "Whisk", "Kitchen", "4.75"))
    c.add(Product("KIT-0003", "Ball Whisk", "kitchen ", "6.00", active=False))
    return c


def test_normalize_sku():
    assert normalize_sku("  abc-0001 ") == "ABC-0001"


@pytest.mark.parametrize("sku", ["ABC-0001", "abc-1234", " XYZ-9999 "])
def test_valid_skus(sku):
    assert is_valid_sku(sku)


@pytest.mark.parametrize("sku", ["AB-0001", "ABCD-001", "ABC_0001", "AB1-0001", "ABC-00A1", "ABC-00001", ""])
def test_invalid_skus(sku):
    assert not is_valid_sku(sku)


def test_sku_number():
    assert sku_number("abc-0042") == 42


def test_sku_number_invalid():
    with pytest.raises(CatalogError):
        sku_number("nope")


def test_make_sku_pads():
    assert make_sku("abc", 7) == "ABC-0007"
    assert make_sku("ABC", 9999) == "ABC-9999"


def test_make_sku_out_of_range():
    with pytest.raises(CatalogError):
        make_sku("ABC", 10000)
    with pytest.raises(CatalogError):
        make_sku("ABC", -1)


def test_make_sku_bad_prefix():
    with pytest.raises(CatalogError):
        make_sku("AB", 1)


def test_product_normalizes_fields():
    p = Product(" toy-0001", " Ball ", " Toys ", 2)
    assert p.sku == "TOY-0001"
    assert p.name == "Ball"
    assert p.category == "toys"
    assert str(p.price) == "2"


def test_product_invalid_sku():
    with pytest.raises(CatalogError):
        Product("bad", "x", "y", 1)


def test_product_empty_name():
    with pytest.raises(CatalogError):
        Product("TOY-0001", "  ", "toys", 1)


def test_product_negative_price():
    with pytest.raises(CatalogError):
        Product("TOY-0001", "Ball", "toys", "-0.01")


def test_product_zero_price_ok():
    assert str(Product("TOY-0001", "Ball", "toys", "0").price) == "0"


def test_product_repr():
    assert repr(Product("TOY-0001", "Ball", "toys", 1)) == "Product('TOY-0001', 'Ball')"


def test_catalog_duplicate():
    c = sample_catalog()
    with pytest.raises(CatalogError):
        c.add(Product("toy-0001", "Other", "toys", 1))


def test_catalog_get_normalizes():
    assert sample_catalog().get(" kit-0002").name == "Whisk"


def test_catalog_get_unknown():
    with pytest.raises(CatalogError):
        sample_catalog().get("ZZZ-0001")


def test_catalog_contains_and_len():
    c = sample_catalog()
    assert "toy-0007" in c
    assert "TOY-0002" not in c
    assert len(c) == 4


def test_catalog_remove():
    c = sample_catalog()
    assert c.remove("TOY-0001").name == "Red Ball"
    assert len(c) == 3


def test_products_excludes_inactive():
    assert len(sample_catalog().products()) == 3
    assert len(sample_catalog().products(include_inactive=True)) == 4


def test_categories():
    assert sample_catalog().categories() == ["kitchen", "toys"]


def test_in_category():
    assert [p.sku for p in sample_catalog().in_category(" TOYS")] == ["TOY-0001", "TOY-0007"]


def test_search():
    assert [p.sku for p in sample_catalog().search("BALL")] == ["TOY-0001", "TOY-0007"]


def test_search_limit():
    assert [p.sku for p in sample_catalog().search("ball", limit=1)] == ["TOY-0001"]


def test_next_sku():
    assert sample_catalog().next_sku("toy") == "TOY-0008"
    assert sample_catalog().next_sku("NEW") == "NEW-0001"


def test_deactivate():
    c = sample_catalog()
    c.deactivate("TOY-0001")
    assert len(c.products()) == 2
