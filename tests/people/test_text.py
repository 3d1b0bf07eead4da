"""Names searched without accents and ordered the Vietnamese way."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hocba.people.text import fold, matches, name_key

VIETNAMESE = (
    "aăâbcdđeêghiklmnoôơpqrstuưvxyàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ"
)


def test_a_search_without_accents_finds_the_name_with_them():
    assert matches("nguyen van an", "Nguyễn Văn An")
    assert matches("DUC", "Trần Đức")
    assert matches("van an 0123", "Nguyễn Văn An", "HS0123")
    assert not matches("nguyen van anh", "Nguyễn Văn An")


def test_names_are_ordered_by_given_name_then_family_name():
    names = ["Trần Văn Bình", "Lê Thị An", "Nguyễn Văn An", "Đỗ Minh An"]
    assert sorted(names, key=name_key) == [
        "Đỗ Minh An", "Lê Thị An", "Nguyễn Văn An", "Trần Văn Bình",
    ]  # fmt: skip


def test_d_with_stroke_comes_after_d_not_after_v():
    names = ["Võ Văn Vinh", "Trần Đức", "Lê Dũng", "Phạm Em", "Hà Ân", "Hà Anh", "Hà Ánh"]
    assert sorted(names, key=name_key) == [
        "Hà Anh", "Hà Ánh", "Hà Ân", "Lê Dũng", "Trần Đức", "Phạm Em", "Võ Văn Vinh",
    ]  # fmt: skip


words = st.text(alphabet=VIETNAMESE, min_size=1, max_size=8)
names = st.lists(words, min_size=1, max_size=4).map(" ".join)


@given(names)
def test_a_name_is_found_by_its_own_folded_spelling_and_by_its_capitals(name):
    assert matches(fold(name), name)
    assert matches(name.upper(), name)
    assert fold(fold(name)) == fold(name)
    assert fold(name).isascii()


@given(st.lists(names, min_size=2, max_size=6))
def test_the_order_depends_on_the_given_name_first(some):
    ordered = sorted(some, key=name_key)
    given_names = [name_key(n)[0] for n in ordered]
    assert given_names == sorted(given_names)
