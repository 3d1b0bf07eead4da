"""Sổ điểm điện tử: assessments, homeroom data, computed results, locks, Excel."""
