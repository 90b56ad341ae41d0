"""Whether any rewrite rule would touch a query, from its name, type and class (the cache-hit path)."""

from __future__ import annotations

from kdns.plugins.rewrite.rules import ClassRule, CnameRule, NameRule, RcodeRule, Rule, TTLRule, TypeRule


def touches(rule: Rule, qname: str, qtype: int, qclass: int) -> bool:
    """True when ``rule`` applies to the query (what ``rule.apply`` would not return None for).

    ``qname`` is lower-cased with the trailing dot, as ``Request.qname``.
    """
    if isinstance(rule, NameRule):
        return rule.match.test(qname)
    if isinstance(rule, TypeRule):
        return qtype == rule.frm
    if isinstance(rule, ClassRule):
        return qclass == rule.frm
    if isinstance(rule, TTLRule | RcodeRule):
        return rule.match.test(qname)
    if isinstance(rule, CnameRule):
        return True  # applies to every reply
    return True  # a rule kind this module does not know: let the full path decide
