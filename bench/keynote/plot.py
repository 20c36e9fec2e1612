#!/usr/bin/env python3
"""plot.py CSV SVG — bench/keynote's plot: TPS per system and alpha, log scale, as an SVG
written by hand (no matplotlib on the build machines), and the same as a text plot on stdout."""
import csv, math, sys

rows = list(csv.DictReader(open(sys.argv[1])))
systems = list(dict.fromkeys(r["system"] for r in rows))
alphas = sorted({float(r["alpha"]) for r in rows})
tps = {(r["system"], float(r["alpha"])): float(r["tps"]) for r in rows}
colors = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd"]

top = max([v for v in tps.values() if v > 0] + [10])
decades = max(1, math.ceil(math.log10(top)))
W, H, left, bottom, plot_h = 120 + 90 * len(alphas) * max(1, len(systems)) // 2 + 200, 360, 70, 300, 260
bar = 22
svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
       f'<text x="{left}" y="18" font-size="14">keynote-2 transfers: TPS (log scale) by Zipf alpha</text>']
def y_of(v):
    return bottom - plot_h * (math.log10(max(v, 1)) / decades)
for d in range(decades + 1):
    y = y_of(10 ** d)
    svg.append(f'<line x1="{left}" x2="{W - 180}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
    svg.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{10 ** d:,}</text>')
x = left + 10
for a in alphas:
    x0 = x
    for i, s in enumerate(systems):
        v = tps.get((s, a))
        if v is not None:
            svg.append(f'<rect x="{x}" y="{y_of(v):.1f}" width="{bar}" height="{bottom - y_of(v):.1f}" fill="{colors[i % 5]}"/>')
            svg.append(f'<text x="{x + bar / 2}" y="{y_of(v) - 4:.1f}" text-anchor="middle" font-size="10">{v:,.0f}</text>')
        x += bar + 4
    svg.append(f'<text x="{(x0 + x) / 2:.1f}" y="{bottom + 18}" text-anchor="middle">alpha {a:g}</text>')
    x += 30
for i, s in enumerate(systems):
    svg.append(f'<rect x="{W - 170}" y="{40 + 20 * i}" width="12" height="12" fill="{colors[i % 5]}"/>')
    svg.append(f'<text x="{W - 152}" y="{50 + 20 * i}">{s}</text>')
svg.append("</svg>")
open(sys.argv[2], "w").write("\n".join(svg) + "\n")

print("\nTPS (log scale, one # per 1/10 decade)")
for a in alphas:
    for s in systems:
        v = tps.get((s, a))
        if v is not None:
            print(f"alpha {a:<4g} {s:<14} {'#' * int(10 * math.log10(max(v, 1))):<60} {v:,.0f}")
