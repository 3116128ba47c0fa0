"""Practice: worksheets with answer keys, and a student's backward pass graded step by step."""

from .answers import ANSWER_FUNCTIONS, AnswerError
from .grading import VERDICTS, grade
from .mistakes import MISTAKES
from .report import Grade, Row

__all__ = ["ANSWER_FUNCTIONS", "AnswerError", "Grade", "MISTAKES", "Row", "VERDICTS", "grade"]
