"""A routing decision as text for people: ``mm-orch route --explain "..."`` prints :func:`format_decision`."""

from __future__ import annotations

from mm_orch.routing.decision import RoutingDecision

__all__ = ["format_decision"]


def format_decision(decision: RoutingDecision, *, top: int = 5) -> str:
    """Workflow, who decided, the top alternatives with probabilities, the deciding features and exemplars,
    the context used, the LM's second opinion when it was asked, and the reason."""
    exp = decision.explanation
    lines = [
        f"workflow: {decision.workflow}  (confidence {decision.confidence:.2f}; router {decision.router_version}, "
        f"decided by {decision.source}{', abstained' if decision.abstained else ''})"
    ]
    if exp and exp.chain:
        lines.append("chain: " + " -> ".join(f"{s.router} {s.outcome}" for s in exp.chain))
        lines.extend(f"  {s.router}: {s.detail}" for s in exp.chain if s.detail)
    if decision.fallbacks:
        lines.append(f"fell back past: {', '.join(decision.fallbacks)}")
    probs = exp.probabilities if exp and exp.probabilities else decision.alternatives
    label = "calibrated probabilities" if exp and exp.probabilities else "scores"
    lines.append(f"top alternatives ({label}):")
    for w, p in list(probs.items())[:top]:
        raw = exp.uncalibrated.get(w) if exp else None
        extra = f"   (uncalibrated {raw:.3f})" if raw is not None else ""
        lines.append(f"  {w:<28} {p:.3f}{extra}")
    if exp and exp.threshold is not None:
        lines.append(f"abstain threshold: {exp.threshold:.2f}")
    if exp and exp.features:
        runner = list(probs)[1] if len(probs) > 1 else "-"
        choice = exp.model_choice or decision.workflow
        lines.append(f"deciding features (logit margin of {choice} over {runner}):")
        lines.extend(f"  {name:<40} +{margin:.3f}" for name, margin in exp.features)
    if exp and exp.rules:
        lines.append(f"rules fired: {', '.join(exp.rules)}")
    if exp and exp.exemplars:
        lines.append("nearest training requests (cosine):")
        lines.extend(f"  {sim:.3f}  {w:<28} {q[:70]}" for q, w, sim in exp.exemplars)
    if exp and exp.second_opinion is not None:
        so = exp.second_opinion
        verdict = so.choice if so.choice else f"no usable answer ({so.error})"
        lines.append(
            f"LM second opinion ({so.model}, {so.latency_ms:.0f} ms): {verdict}; allowed {', '.join(so.candidates)}"
        )
        if exp.model_choice:
            lines.append(f"router's own choice: {exp.model_choice}")
    if exp and exp.context:
        lines.append("context: " + ", ".join(f"{k}={v}" for k, v in exp.context.items()))
    lines.append(f"reason: {decision.reason}")
    return "\n".join(lines) + "\n"
