"""An order-select call's orders: the shape CDS Hooks 2.0 gives its context, and the
treatment (surgery or an epidural steroid injection) its selected draft orders name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["ORDER_WORDS", "order_context_problems", "order_treatment"]

#: Words in an order's code text or display that name its treatment.
ORDER_WORDS: dict[str, tuple[str, ...]] = {
    "tfesi": ("injection", "epidural", "tfesi", "steroid", "transforaminal"),
    "surgery": (
        "surgery",
        "decompression",
        "fusion",
        "discectomy",
        "laminectomy",
        "laminoplasty",
        "arthroplasty",
        "foraminotomy",
    ),
}


def order_context_problems(context: Mapping[str, Any]) -> list[dict[str, str]]:
    """What is wrong with an order-select ``context`` (``selections`` and ``draftOrders``
    as CDS Hooks 2.0 requires them), as ``{"field", "message"}``."""
    problems = []
    selections = context.get("selections")
    if not isinstance(selections, list) or not all(isinstance(x, str) for x in selections):
        problems.append(
            {
                "field": "body.context.selections",
                "message": "required: a list of the selected orders' references (ResourceType/id)",
            }
        )
    drafts = context.get("draftOrders")
    entries = drafts.get("entry", []) if isinstance(drafts, Mapping) else None
    if not isinstance(drafts, Mapping) or drafts.get("resourceType") != "Bundle":
        problems.append(
            {"field": "body.context.draftOrders", "message": "required: a Bundle of draft orders"}
        )
    elif not isinstance(entries, list):
        problems.append({"field": "body.context.draftOrders.entry", "message": "a list of entries"})
    else:
        for i, e in enumerate(entries):
            r = e.get("resource") if isinstance(e, Mapping) else None
            code = r.get("code", {}) if isinstance(r, Mapping) else None
            where = f"body.context.draftOrders.entry.{i}.resource"
            if not isinstance(r, Mapping):
                problems.append({"field": where, "message": "an order resource"})
            elif not isinstance(code, Mapping) or not isinstance(code.get("coding", []), list):
                problems.append(
                    {"field": f"{where}.code", "message": "a CodeableConcept (text, coding)"}
                )
    return problems


def order_treatment(context: Mapping[str, Any]) -> str | None:
    """The treatment (``surgery`` or ``tfesi``) of the order-select context's selected
    draft orders, read from their code's text and displays; ``None`` when none names one.
    The context's shape is checked first (:func:`check_request`); anything else in it is
    passed over."""
    selections = context.get("selections")
    selected = {str(s) for s in selections} if isinstance(selections, list) else set()
    drafts = context.get("draftOrders")
    entries = drafts.get("entry") if isinstance(drafts, Mapping) else None
    for e in entries if isinstance(entries, list) else ():
        r = e.get("resource") if isinstance(e, Mapping) else None
        if not isinstance(r, Mapping):
            continue
        ref = f"{r.get('resourceType')}/{r.get('id')}"
        if selected and ref not in selected:
            continue
        code = r.get("code")
        code = code if isinstance(code, Mapping) else {}
        coding = code.get("coding")
        words = [str(code.get("text", ""))] + [
            str(c.get("display", ""))
            for c in (coding if isinstance(coding, list) else ())
            if isinstance(c, Mapping)
        ]
        text = " ".join(words).lower()
        for treatment, names in ORDER_WORDS.items():
            if any(n in text for n in names):
                return treatment
    return None
