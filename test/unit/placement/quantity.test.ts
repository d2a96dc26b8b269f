import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { QUANTITY } from "../../../operator/src/api/v1alpha1/index.ts";
import {
  capQuota,
  formatQuantity,
  mergeQuota,
  parseQuantity,
  quantitiesEqual,
  quotaFits,
  sumQuotas,
} from "../../../operator/src/placement/quantity.ts";

const Ki = 1024n;
const Mi = Ki * Ki;
const Gi = Mi * Ki;

describe("parseQuantity", () => {
  it.each([
    ["250m", 250n],
    ["2", 2000n],
    ["4Gi", 4n * Gi * 1000n],
    ["512Mi", 512n * Mi * 1000n],
    ["1Ki", 1024_000n],
    ["1Ti", 1024n * Gi * 1000n],
    ["1Ei", (1n << 60n) * 1000n],
    ["1e3", 1_000_000n],
    ["1E3", 1_000_000n],
    ["1e-3", 1n],
    ["1e+3", 1_000_000n],
    ["1.5", 1500n],
    ["1.5Gi", 3n * (Gi / 2n) * 1000n],
    [".5", 500n],
    ["1.", 1000n],
    ["+1", 1000n],
    ["-1", -1000n],
    ["1k", 1_000_000n],
    ["1M", 1_000_000_000n],
    ["1G", 10n ** 12n],
    ["1E", 10n ** 21n],
    ["1u", 1n],
    ["0", 0n],
    ["0.000", 0n],
  ])("reads %s as %d milli-units", (text, milli) => {
    expect(parseQuantity(text)).toBe(milli);
  });

  it("reads integers and fractions given as numbers", () => {
    expect(parseQuantity(5)).toBe(5000n);
    expect(parseQuantity(0.5)).toBe(500n);
    expect(parseQuantity(1e21)).toBe(10n ** 24n);
    expect(parseQuantity(0)).toBe(0n);
  });

  it("rounds anything finer than a milli-unit up, as the API server does", () => {
    expect(parseQuantity("1n")).toBe(1n);
    expect(parseQuantity("0.1m")).toBe(1n);
    expect(parseQuantity("1001u")).toBe(2n);
    expect(parseQuantity("1e-20")).toBe(1n);
  });

  it.each(["", " 1", "1 ", "abc", "1Ki2", "1e", "1.2.3", "1KiB", "1k8", "Mi", "-", "1mi", "0x10", "1_000", "1e1.5"])(
    "rejects %j with an error naming the value",
    (bad) => {
      expect(() => parseQuantity(bad)).toThrowError(`${JSON.stringify(bad)} is not a Kubernetes quantity`);
    },
  );

  it("rejects non-finite numbers and absurd exponents", () => {
    expect(() => parseQuantity(Number.NaN)).toThrowError("NaN is not a Kubernetes quantity");
    expect(() => parseQuantity(Number.POSITIVE_INFINITY)).toThrowError("Infinity is not a Kubernetes quantity");
    expect(() => parseQuantity("1e99999")).toThrowError("exponent 99999");
  });

  it("parses every string the API schema accepts as a quantity", () => {
    const digits = fc.stringMatching(/^[0-9]{1,8}$/);
    const text = fc
      .tuple(
        fc.constantFrom("", "+"),
        fc.oneof(digits, fc.tuple(digits, digits).map(([a, b]) => `${a}.${b}`), digits.map((d) => `.${d}`), digits.map((d) => `${d}.`)),
        fc.constantFrom("", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei", "n", "u", "m", "k", "M", "G", "T", "P", "E", "e3", "E-2", "e+12"),
      )
      .map(([s, n, x]) => s + n + x);
    fc.assert(
      fc.property(text, (q) => {
        expect(QUANTITY.test(q)).toBe(true);
        expect(parseQuantity(q)).toBeTypeOf("bigint");
      }),
    );
  });
});

describe("formatQuantity", () => {
  it.each([
    [2000n, "cpu", "2"],
    [1500n, "cpu", "1500m"],
    [250n, "cpu", "250m"],
    [0n, "cpu", "0"],
    [4n * Gi * 1000n, "memory", "4Gi"],
    [1536n * Mi * 1000n, "memory", "1536Mi"],
    [3n * Ki * 1000n, "storage", "3Ki"],
    [1000n * 1000n, "memory", "1000"],
    [1024n * Gi * 1000n, "memory", "1024Gi"],
    [0n, "memory", "0"],
    [1n, "memory", "1"],
    [999n, "storage", "1"],
    [1001n, "memory", "2"],
    [5000n, "count", "5"],
    [4500n, "count", "5"],
  ] as const)("shows %d milli-units of %s as %s", (milli, kind, text) => {
    expect(formatQuantity(milli, kind)).toBe(text);
  });

  it("gives back the same cpu it was given", () => {
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: 10n ** 15n }), (milli) => parseQuantity(formatQuantity(milli, "cpu")) === milli));
  });

  it("gives back the same memory and storage for whole bytes", () => {
    const bytes = fc.oneof(
      fc.bigInt({ min: 0n, max: 1n << 50n }),
      fc.tuple(fc.bigInt({ min: 0n, max: 1n << 20n }), fc.constantFrom(Ki, Mi, Gi)).map(([n, unit]) => n * unit),
    );
    fc.assert(
      fc.property(bytes, fc.constantFrom("memory" as const, "storage" as const), (b, kind) => {
        expect(parseQuantity(formatQuantity(b * 1000n, kind))).toBe(b * 1000n);
      }),
    );
  });

  it("uses the largest exact binary suffix, so equal amounts always read the same", () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 1n << 40n }), (b) => {
        const text = formatQuantity(b * 1000n, "memory");
        const suffix = /(Gi|Mi|Ki)$/.exec(text)?.[1];
        const larger = { Gi: undefined, Mi: Gi, Ki: Mi, none: Ki }[suffix ?? "none"];
        if (larger !== undefined) expect(b % larger).not.toBe(0n);
      }),
    );
  });
});

describe("quantitiesEqual", () => {
  it.each([
    ["0.5", "500m"],
    [1, "1"],
    ["1Ki", "1024"],
    ["1e3", "1k"],
    ["1Gi", 1073741824],
    ["0", 0],
  ] as const)("treats %j and %j as equal", (a, b) => {
    expect(quantitiesEqual(a, b)).toBe(true);
  });

  it("compares exactly, without the milli-unit rounding of parseQuantity", () => {
    expect(parseQuantity("1n")).toBe(parseQuantity("2n"));
    expect(quantitiesEqual("1n", "2n")).toBe(false);
  });

  it("is false when either side is not a quantity", () => {
    expect(quantitiesEqual("1", "one")).toBe(false);
    expect(quantitiesEqual("x", "x")).toBe(false);
  });
});

describe("quota helpers", () => {
  it("sums quotas exactly, per key, in canonical form", () => {
    expect(
      sumQuotas([
        { cpu: "250m", memory: "512Mi", pods: 5 },
        { cpu: "0.75", memory: "512Mi", storage: "5Gi" },
        { cpu: 1 },
      ]),
    ).toEqual({ cpu: "2", memory: "1Gi", storage: "5Gi", pods: "5" });
    expect(sumQuotas([])).toEqual({});
  });

  it("sums any number of quotas exactly", () => {
    const cpu = fc.bigInt({ min: 0n, max: 10n ** 6n });
    fc.assert(
      fc.property(fc.array(fc.tuple(cpu, fc.bigInt({ min: 0n, max: 1n << 40n })), { maxLength: 50 }), (pairs) => {
        const sum = sumQuotas(pairs.map(([c, m]) => ({ cpu: `${c}m`, memory: String(m) })));
        const cpuTotal = pairs.reduce((acc, [c]) => acc + c, 0n);
        const memoryTotal = pairs.reduce((acc, [, m]) => acc + m, 0n);
        if (pairs.length === 0) {
          expect(sum).toEqual({});
        } else {
          expect(parseQuantity(sum.cpu ?? "")).toBe(cpuTotal);
          expect(parseQuantity(sum.memory ?? "")).toBe(memoryTotal * 1000n);
        }
      }),
    );
  });

  it("names the key and the value when a quota does not parse", () => {
    expect(() => sumQuotas([{ memory: "lots" }])).toThrowError('quota memory: "lots" is not a Kubernetes quantity');
  });

  it("caps each key at the cap's value and leaves keys the cap does not mention alone", () => {
    expect(capQuota({ cpu: "100", memory: "1Gi", pods: 10 }, { cpu: "64", memory: "256Gi" })).toEqual({
      cpu: "64",
      memory: "1Gi",
      pods: "10",
    });
  });

  it("treats a key the quota lacks as unlimited, so the cap applies", () => {
    expect(capQuota({}, { cpu: "64", memory: "256Gi" })).toEqual({ cpu: "64", memory: "256Gi" });
  });

  it("says which key would overflow the capacity", () => {
    const capacity = { cpu: "4", memory: "8Gi" };
    expect(quotaFits({ cpu: "3", memory: "4Gi" }, { cpu: "1", memory: "4Gi" }, capacity)).toBeUndefined();
    expect(quotaFits({ cpu: "3", memory: "4Gi" }, { cpu: "1001m" }, capacity)).toBe("cpu");
    expect(quotaFits({ memory: "4Gi" }, { memory: "4097Mi", pods: 1000 }, capacity)).toBe("memory");
    expect(quotaFits({}, { storage: "1Ei" }, capacity)).toBeUndefined();
  });

  it("merges an override over the defaults, keeping values as written", () => {
    const defaults = { cpu: "250m", memory: "512Mi", storage: "5Gi", pods: 5 };
    expect(mergeQuota({ cpu: "2", pods: undefined }, defaults)).toEqual({ cpu: "2", memory: "512Mi", storage: "5Gi", pods: 5 });
    expect(mergeQuota(undefined, defaults)).toEqual(defaults);
    expect(mergeQuota({ memory: "1Gi" }, undefined)).toEqual({ memory: "1Gi" });
  });
});
