// WCAG AA contrast (4.5:1 for text) of the risk badges and the coloured
// texts, computed from style.css itself in light and dark mode: the colours
// are the custom properties of `:root` and of the dark `:root`, the rules
// are the stylesheet's own.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const css = readFileSync(join(__dirname, "../src/style.css"), "utf8").replace(/\/\*[\s\S]*?\*\//g, "");

function props(block: string): Record<string, string> {
  return Object.fromEntries([...block.matchAll(/(--[\w-]+)\s*:\s*([^;]+);/g)].map((m) => [m[1], m[2].trim()]));
}

const light = props(css.match(/^:root\s*\{([^}]*)\}/m)![1]);
const darkBlock = css.match(/@media \(prefers-color-scheme: dark\)\s*\{\s*:root\s*\{([^}]*)\}/)![1];
const dark = { ...light, ...props(darkBlock) };

/// The declarations of the rules whose selector list names `selector`
/// exactly (later rules win), outside @media blocks.
function rule(selector: string): Record<string, string> {
  const flat = css.replace(/@media[^{]*\{(?:[^{}]*\{[^}]*\})*\s*\}/g, "");
  const out: Record<string, string> = {};
  for (const m of flat.matchAll(/([^{}]+)\{([^}]*)\}/g)) {
    const sels = m[1].split(",").map((s: string) => s.trim());
    if (!sels.includes(selector)) continue;
    for (const d of m[2].matchAll(/([\w-]+)\s*:\s*([^;]+)(;|$)/g)) out[d[1]] = d[2].trim();
  }
  return out;
}

function resolve(value: string, theme: Record<string, string>): string {
  const v = value.match(/^var\((--[\w-]+)\)$/);
  if (v) return resolve(theme[v[1]] ?? `missing ${v[1]}`, theme);
  if (value === "currentColor") throw new Error("currentColor needs its colour");
  return value;
}

function luminance(hex: string): number {
  const m = hex.match(/^#([0-9a-f]{6})$/i);
  if (!m) throw new Error(`not a #rrggbb colour: ${hex}`);
  const [r, g, b] = [0, 2, 4].map((i) => parseInt(m[1].slice(i, i + 2), 16) / 255).map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

export function contrast(a: string, b: string): number {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return (x + 0.05) / (y + 0.05);
}

const themes = { light, dark } as const;

describe("contrast", () => {
  it("computes WCAG ratios", () => {
    expect(contrast("#000000", "#ffffff")).toBeCloseTo(21, 5);
    expect(contrast("#777777", "#ffffff")).toBeCloseTo(4.48, 2);
  });

  it("no rule hides the focus, but the query field's (its caret shows it, and it always has the focus)", () => {
    const hiding = [...css.replace(/@media[^{]*\{(?:[^{}]*\{[^}]*\})*\s*\}/g, "").matchAll(/([^{}]+)\{([^}]*)\}/g)]
      .filter((m) => /(^|;)\s*outline\s*:\s*(none|0)\b/.test(m[2]))
      .map((m) => m[1].trim());
    expect(hiding).toEqual(["#query", "#query:focus-visible"]);
  });

  for (const [name, theme] of Object.entries(themes)) {
    // A badge sits on the page or on the selected row, unless it has a
    // background of its own.
    const pages = [resolve("var(--bg)", theme), resolve("var(--sel)", theme)];
    for (const risk of ["safe", "moderate", "high", "critical"]) {
      it(`the ${risk} badge is at least 4.5:1 in ${name} mode`, () => {
        const d = { ...rule(`.risk-${risk}`), ...rule(`.badge.risk-${risk}`) };
        expect(d.color, `.risk-${risk} has a colour`).toBeTruthy();
        const fg = resolve(d.color, theme);
        const bgs = d.background ? [resolve(d.background, theme)] : pages;
        for (const bg of bgs) expect(contrast(fg, bg), `${fg} on ${bg}`).toBeGreaterThanOrEqual(4.5);
      });
    }
    it(`muted, error and warning texts are at least 4.5:1 in ${name} mode`, () => {
      for (const v of ["--fg", "--muted", "--safe", "--moderate", "--high", "--critical"])
        for (const bg of pages) expect(contrast(resolve(`var(${v})`, theme), bg), `${v} on ${bg}`).toBeGreaterThanOrEqual(4.5);
      const go = rule(".confirm-go");
      expect(contrast(resolve(go.color, theme), resolve(go.background, theme))).toBeGreaterThanOrEqual(4.5);
    });
    it(`the focus ring is visible in ${name} mode: 3:1 against the page and the selected row`, () => {
      const ring = rule(":focus-visible");
      expect(ring.outline, ":focus-visible draws an outline").toMatch(/^\d+px solid var\(--focus\)$/);
      for (const bg of pages) expect(contrast(resolve("var(--focus)", theme), bg), `--focus on ${bg}`).toBeGreaterThanOrEqual(3);
    });
  }
});
