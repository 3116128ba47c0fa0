"""Practice: worksheets with answer keys, and a student's backward pass graded step by step."""

from .answers import ANSWER_FUNCTIONS, AnswerError
from .grading import VERDICTS, grade
from .mistakes import MISTAKES
from .report import Grade, Row
from .worksheet import Exercise, exercise

__all__ = ["ANSWER_FUNCTIONS", "AnswerError", "Exercise", "Grade", "MISTAKES", "Row", "VERDICTS", "exercise", "grade"]
