"""The rules of Thông tư 22/2021 (THCS/THPT), 43/2021 (GDTX) and 27/2020 (primary), pure.

Nothing here imports Django: plain functions over frozen dataclasses, tested without a database.
"""
