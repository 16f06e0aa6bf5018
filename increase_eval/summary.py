"""Plain-text summaries printed at the end of a command."""

from __future__ import annotations


def _table(rows: list[list[str]], right: set[int]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for n, r in enumerate(rows):
        cells = [c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(r)]
        lines.append("  ".join(cells).rstrip())
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def prepare_summary(outcome, seconds: float) -> str:
    rows = [["landlord", "file", "rows in", "kept", "rejected", "merged"]]
    for a in outcome.accounts:
        rows.append([a.landlord, a.file, f"{a.rows_in:,}", f"{a.kept:,}", f"{a.rejected:,}", f"{a.merged:,}"])
    total = [sum(getattr(a, k) for a in outcome.accounts) for k in ("rows_in", "kept", "rejected", "merged")]
    rows.append(["total", "", *(f"{t:,}" for t in total)])
    out = ["Accounting of raw rows (rows in = kept + rejected + merged):", _table(rows, {2, 3, 4, 5})]
    blank = [a for a in outcome.accounts if a.blank_rows]
    if blank:
        out.append("Blank rows skipped, not records (not in rows in): "
                   + ", ".join(f"{a.landlord} {a.file} {a.blank_rows:,}" for a in blank[:10])
                   + (f" and {len(blank) - 10} more files" if len(blank) > 10 else ""))
    out.append("")
    for warning in getattr(outcome, "warnings", []):
        out.append(f"warning: {warning}")
    if getattr(outcome, "warnings", []):
        out.append("")
    if outcome.rejects_by_reason:
        out.append("Rejected values by reason (a row may have several):")
        reasons = sorted(outcome.rejects_by_reason.items(), key=lambda kv: -kv[1])
        out.append(_table([["count", "reason"]] + [[f"{n:,}", r] for r, n in reasons], {0}))
        out.append("")
    out.append("Processed tables: " + ", ".join(f"{k} {v:,}" for k, v in outcome.tables.items()))
    if outcome.errors:
        out.append("")
        out.append(f"{len(outcome.errors)} problem(s) stopped part of the run:")
        out.extend(f"  error: {e}" for e in outcome.errors)
    out.append(f"Done in {seconds:.1f} s; manifest: {outcome.manifest_path}")
    return "\n".join(out)
