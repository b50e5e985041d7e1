"""The one error type of :mod:`prom.fhir`: every problem of a FHIR input, collected at once.

A :class:`FhirProblem` names the resource (``QuestionnaireResponse/odi-1 (Bundle.entry[1])``),
the JSON path of the field inside it
(``QuestionnaireResponse.item[3].answer[0].valueInteger``), the value seen (shortened) and
what was expected. :class:`FhirInputError` holds all of them, like the calculator's
``PatientInputError``; it is a ``ValueError``. Nothing here logs: values appear only in
the error handed back to the caller who sent them.
"""

from __future__ import annotations

import reprlib
from dataclasses import dataclass
from typing import Any

from prom.errors import PromError

__all__ = ["FhirProblem", "FhirInputError", "shown"]

#: Longest text of a value shown in a message (canonical URLs with their version fit).
SHOWN_LENGTH = 100

_SHORT = reprlib.Repr()
_SHORT.maxstring = SHOWN_LENGTH
_SHORT.maxlong = _SHORT.maxother = 40
_SHORT.maxlist = _SHORT.maxdict = 4
_SHORT.maxlevel = 2


def shown(value: Any) -> str:
    """``value`` as a message shows it: a shortened ``repr``."""
    return _SHORT.repr(value)


@dataclass(frozen=True)
class FhirProblem:
    """One thing wrong with a FHIR input.

    ``resource``: which resource (type, id where it has one, and its place in a Bundle);
    ``path``: the JSON path of the field (``QuestionnaireResponse.status``); ``value``: the
    value seen (``None`` when the field is absent); ``expected``: what would be accepted.
    """

    resource: str
    path: str
    value: Any
    expected: str
    reason: str = ""

    @property
    def message(self) -> str:
        seen = "absent" if self.value is None else shown(self.value)
        reason = f" {self.reason};" if self.reason else ""
        return f"{self.resource}: {self.path} = {seen}:{reason} expected {self.expected}"


class FhirInputError(PromError, ValueError):
    """A FHIR input the toolkit cannot read; ``problems`` lists every problem found."""

    def __init__(self, problems: list[FhirProblem]):
        self.problems = list(problems)
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} in the FHIR input"
        super().__init__(head + ":\n" + "\n".join(f"- {p.message}" for p in self.problems))
