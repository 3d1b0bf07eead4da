"""Vietnamese names and places for synthetic people."""

from __future__ import annotations

import random

FAMILY = [
    "Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi",
    "Đỗ", "Hồ", "Ngô", "Dương", "Lý", "Đinh", "Trịnh", "Đoàn", "Lương",
]  # fmt: skip
MIDDLE_MALE = ["Văn", "Hữu", "Đức", "Minh", "Quốc", "Gia", "Thành", "Công", "Xuân", "Trọng"]
MIDDLE_FEMALE = ["Thị", "Ngọc", "Thu", "Thanh", "Khánh", "Bảo", "Phương", "Mai", "Diệu", "Hải"]
GIVEN_MALE = [
    "An", "Bình", "Cường", "Dũng", "Đạt", "Hải", "Hiếu", "Hoàng", "Huy", "Khang", "Khánh",
    "Long", "Lộc", "Nam", "Nghĩa", "Phúc", "Quân", "Sơn", "Tài", "Thắng", "Thịnh", "Trí",
    "Trung", "Tuấn", "Việt", "Vinh", "Bảo", "Đăng", "Kiên", "Mạnh",
]  # fmt: skip
GIVEN_FEMALE = [
    "Anh", "Ánh", "Châu", "Chi", "Diệp", "Duyên", "Giang", "Hà", "Hạnh", "Hằng", "Hiền",
    "Hoa", "Hương", "Huyền", "Lan", "Linh", "Loan", "Mai", "My", "Nga", "Ngân", "Nhung",
    "Oanh", "Phương", "Quỳnh", "Thảo", "Thư", "Trang", "Uyên", "Vy", "Yến", "Ngọc",
]  # fmt: skip
OCCUPATIONS = [
    "Nông dân", "Công nhân", "Giáo viên", "Kỹ sư", "Bác sĩ", "Buôn bán", "Lái xe",
    "Nhân viên văn phòng", "Công chức", "Thợ may", "Kinh doanh", "Nội trợ",
]  # fmt: skip
COMMUNES = [
    ("Phường Thanh Miếu", "08023"), ("Phường Tiên Cát", "08011"), ("Phường Nông Trang", "08017"),
    ("Phường Vân Phú", "08047"), ("Xã Hy Cương", "08065"), ("Xã Phù Ninh", "08092"),
    ("Phường Phong Châu", "08110"), ("Xã Lâm Thao", "08137"),
]  # fmt: skip
STREETS = ["Hùng Vương", "Trần Phú", "Nguyễn Tất Thành", "Lê Quý Đôn", "Hòa Phong", "Châu Phong",
           "Tân Dân", "Nguyễn Du", "Kim Đồng", "Minh Lang"]  # fmt: skip
PROVINCE = "Tỉnh Phú Thọ"


def person_name(rng: random.Random, female: bool) -> str:
    middle = rng.choice(MIDDLE_FEMALE if female else MIDDLE_MALE)
    given = rng.choice(GIVEN_FEMALE if female else GIVEN_MALE)
    return f"{rng.choice(FAMILY)} {middle} {given}"


def address(rng: random.Random) -> tuple[str, str]:
    """A detailed address and its commune code."""
    commune, code = rng.choice(COMMUNES)
    return f"Số {rng.randint(1, 250)} đường {rng.choice(STREETS)}, {commune}, {PROVINCE}", code
