"""Points the circulars leave open, as named options with documented defaults
(`docs/domain/grading-rules.md` §2.1, §2.4, §2.5, §6)."""

from __future__ import annotations

from dataclasses import dataclass, fields


@dataclass(frozen=True, slots=True)
class Options:
    adjustment_includes_comment_subjects: bool = True
    """Điều 9 khoản 3: a comment subject at Chưa đạt may be the one subject that lowers the
    level ("duy nhất 01 môn học" is not restricted to scored subjects)."""
    comment_subject_tx_count: int = 2
    """Regular assessments recorded per semester for a comment subject."""
    chuyen_de_counts_as_tx: bool = True
    """THPT: each chuyên đề assessment counts as one more regular assessment of its host
    subject (TT22 Điều 6, TT43 Điều 9)."""
    single_semester_subject_rule: str = "use_that_semester"
    """A subject taught in one semester only: that semester's result is the year's."""
    absence_limit: int = 45
    """More absent sessions (buổi) than this in a year means retention (Điều 12 khoản 1 c)."""

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


DEFAULT_OPTIONS = Options()
