import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { freePort } from "../../../operator/src/local/ports.ts";
import { createPrometheusClient, PrometheusError, renderQuery, type PrometheusErrorKind } from "../../../operator/src/policy/prometheus.ts";

/** Decodes a PromQL "..." or '...' literal the way Prometheus's lexer does, refusing what it refuses. */
function unquote(literal: string): string {
  const quote = literal[0];
  if ((quote !== '"' && quote !== "'") || literal.at(-1) !== quote) throw new Error(`not a quoted literal: ${literal}`);
  const body = literal.slice(1, -1);
  let out = "";
  for (let i = 0; i < body.length; i++) {
    const ch = body[i] as string;
    if (ch === quote) throw new Error(`unescaped ${quote} at ${i} in ${literal}`);
    if (ch === "\n") throw new Error(`raw newline in ${literal}`);
    if (ch !== "\\") {
      out += ch;
      continue;
    }
    const next = body[++i];
    const simple: Record<string, string> = { n: "\n", r: "\r", t: "\t", "\\": "\\", [quote]: quote };
    if (next !== undefined && next in simple) out += simple[next];
    else if (next === "x" && /^[0-9a-f]{2}$/i.test(body.slice(i + 1, i + 3))) (out += String.fromCharCode(parseInt(body.slice(i + 1, i + 3), 16))), (i += 2);
    else if (next === "u" && /^[0-9a-f]{4}$/i.test(body.slice(i + 1, i + 5))) (out += String.fromCharCode(parseInt(body.slice(i + 1, i + 5), 16))), (i += 4);
    // PromQL only accepts \" in "..." and \' in '...': anything else is "unknown escape sequence".
    else throw new Error(`unknown escape sequence \\${next} in ${literal}`);
  }
  return out;
}

/** The literal that replaced the placeholder in `matcher{tenant=<q>{{tenantId}}<q>}`. */
const literalIn = (rendered: string): string => /\{tenant=~?(.*)\}$/s.exec(rendered)?.[1] ?? "";

describe("renderQuery", () => {
  it("replaces every {{tenantId}}, with or without spaces inside the braces", () => {
    expect(renderQuery('sum(increase(http_requests_total{tenant="{{tenantId}}"}[1d])) / sum(up{tenant="{{ tenantId }}"})', { tenantId: "acme" })).toBe(
      'sum(increase(http_requests_total{tenant="acme"}[1d])) / sum(up{tenant="acme"})',
    );
    expect(renderQuery("x{tenant='{{  tenantId  }}'}", { tenantId: "acme-2" })).toBe("x{tenant='acme-2'}");
  });

  it("leaves a query without placeholders as it is", () => {
    expect(renderQuery("sum(up)", { tenantId: "acme" })).toBe("sum(up)");
  });

  it("escapes backslashes, both quote kinds and newlines so that the id stays inside a double-quoted literal", () => {
    const tenantId = `a"b'c\\d\ne`;
    const rendered = renderQuery('m{tenant="{{tenantId}}"}', { tenantId });
    expect(rendered).toBe('m{tenant="a\\x22b\\x27c\\\\d\\ne"}');
    expect(unquote(literalIn(rendered))).toBe(tenantId);
  });

  it("escapes the same way inside a single-quoted literal", () => {
    const tenantId = `x'} or vector(1) or m{a='`;
    const rendered = renderQuery("m{tenant='{{tenantId}}'}", { tenantId });
    expect(rendered).toBe("m{tenant='x\\x27} or vector(1) or m{a=\\x27'}");
    expect(unquote(literalIn(rendered))).toBe(tenantId);
  });

  it("escapes control characters and line separators", () => {
    expect(renderQuery('m{tenant="{{tenantId}}"}', { tenantId: "a\r\t\u0000\u007f\u2028b" })).toBe('m{tenant="a\\r\\t\\x00\\x7f\\u2028b"}');
  });

  it("round-trips any id through either quote kind", () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, unit: "binary" }), fc.constantFrom('"', "'"), (tenantId, quote) => {
        const rendered = renderQuery(`m{tenant=${quote}{{tenantId}}${quote}}`, { tenantId });
        expect(unquote(literalIn(rendered))).toBe(tenantId);
      }),
    );
  });

  it("escapes regex metacharacters in =~ and !~ matchers, so the id matches only itself", () => {
    expect(renderQuery('m{tenant=~"{{tenantId}}"}', { tenantId: "acm." })).toBe('m{tenant=~"acm\\\\."}');
    expect(renderQuery('m{tenant!~ "{{tenantId}}-canary"}', { tenantId: "a|b" })).toBe('m{tenant!~ "a\\\\|b-canary"}');
    // The same text in an equality matcher is not a regex.
    expect(renderQuery('m{tenant="{{tenantId}}"}', { tenantId: "acm." })).toBe('m{tenant="acm."}');
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), (tenantId) => {
        const pattern = unquote(literalIn(renderQuery('m{tenant=~"{{tenantId}}"}', { tenantId })));
        // Prometheus anchors matchers: ^(?:...)$. RE2 and JavaScript agree on these escapes.
        expect(new RegExp(`^(?:${pattern})$`, "s").test(tenantId)).toBe(true);
        expect(new RegExp(`^(?:${pattern})$`, "s").test(`${tenantId}x`)).toBe(false);
      }),
    );
  });

  it("tells escaped quotes in the template apart from the end of a literal", () => {
    expect(renderQuery('m{a="say \\"{{tenantId}}\\"", tenant="{{tenantId}}"}', { tenantId: 'q"' })).toBe('m{a="say \\"q\\x22\\"", tenant="q\\x22"}');
  });

  it("puts the id into a raw string unchanged, and refuses an id with a backtick there", () => {
    expect(renderQuery("m{tenant=`{{tenantId}}`}", { tenantId: `a"b\\c` })).toBe('m{tenant=`a"b\\c`}');
    expect(() => renderQuery("m{tenant=`{{tenantId}}`}", { tenantId: "a`b" })).toThrow(/contains a backtick .* use "\{\{tenantId\}\}" \(double quotes\)/);
  });

  it("refuses a placeholder outside a string literal, saying where it belongs", () => {
    const error = catchError(() => renderQuery("m{tenant={{tenantId}}}", { tenantId: "acme" }));
    expect(error).toBeInstanceOf(PrometheusError);
    expect(error).toMatchObject({ kind: "BadQuery" });
    expect(error.message).toContain('has {{tenantId}} outside a quoted string; put it inside a label matcher\'s value, e.g. http_requests_total{tenant="{{tenantId}}"}');
  });

  it("escapes a placeholder inside a comment, so a newline in the id cannot end the comment", () => {
    expect(renderQuery('sum(m) # for {{tenantId}}\n+ 0', { tenantId: "a\nvector(1)" })).toBe("sum(m) # for a\\nvector(1)\n+ 0");
  });

  it("refuses unknown placeholders, naming the one it knows", () => {
    expect(() => renderQuery('m{tenant="{{tenant}}"}', { tenantId: "acme" })).toThrow("uses the unknown placeholder {{tenant}}; the only placeholder is {{tenantId}}");
  });

  it("refuses an empty tenant id, which would select every series without the label", () => {
    expect(() => renderQuery('m{tenant="{{tenantId}}"}', { tenantId: "" })).toThrow("the tenant id is empty");
  });

  it("does not expand placeholders that come from the id", () => {
    expect(renderQuery('m{tenant="{{tenantId}}"}', { tenantId: "{{tenantId}}" })).toBe('m{tenant="{{tenantId}}"}');
  });
});

// ---------------------------------------------------------------------------------------------

interface Recorded {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    ),
  );
});

/** A local HTTP server standing in for Prometheus: answers every request with `answer`. */
async function serve(answer: (req: Recorded, res: ServerResponse) => void): Promise<{ url: string; requests: Recorded[] }> {
  const requests: Recorded[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => {
      const recorded = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body };
      requests.push(recorded);
      answer(recorded, res);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests };
}

const json = (status: number, body: unknown) => (_req: Recorded, res: ServerResponse) => {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
};
const success = (data: unknown) => json(200, { status: "success", data });
const vector = (...samples: [Record<string, string>, number, string][]) =>
  success({ resultType: "vector", result: samples.map(([metric, at, value]) => ({ metric, value: [at, value] })) });

async function queryAgainst(answer: (req: Recorded, res: ServerResponse) => void, promql = 'sum(m{tenant="acme"})') {
  const { url } = await serve(answer);
  return createPrometheusClient({ url }).query(promql);
}

function catchError(fn: () => unknown): PrometheusError {
  try {
    fn();
  } catch (error) {
    return error as PrometheusError;
  }
  throw new Error("expected an error");
}

async function rejection(promise: Promise<unknown>): Promise<PrometheusError> {
  try {
    await promise;
  } catch (error) {
    return error as PrometheusError;
  }
  throw new Error("expected the query to fail");
}

async function expectKind(promise: Promise<unknown>, kind: PrometheusErrorKind, message: string | RegExp): Promise<PrometheusError> {
  const error = await rejection(promise);
  expect(error).toBeInstanceOf(PrometheusError);
  expect(error.kind).toBe(kind);
  if (typeof message === "string") expect(error.message).toContain(message);
  else expect(error.message).toMatch(message);
  return error;
}

describe("createPrometheusClient: results", () => {
  it("returns the one sample of a vector, with its time in ms", async () => {
    expect(await queryAgainst(vector([{ tenant: "acme" }, 1_700_000_000.123, "1200.5"]))).toEqual({ value: 1200.5, at: 1_700_000_000_123 });
  });

  it("returns undefined for an empty vector: no data", async () => {
    expect(await queryAgainst(vector())).toBeUndefined();
  });

  it("returns the value of a scalar", async () => {
    expect(await queryAgainst(success({ resultType: "scalar", result: [1_700_000_000, "42"] }))).toEqual({ value: 42, at: 1_700_000_000_000 });
  });

  it("parses Prometheus's number formats", async () => {
    expect(await queryAgainst(vector([{}, 1, "1e+06"]))).toMatchObject({ value: 1e6 });
    expect(await queryAgainst(vector([{}, 1, "-0.25"]))).toMatchObject({ value: -0.25 });
  });

  it("treats NaN as no data", async () => {
    expect(await queryAgainst(vector([{}, 1, "NaN"]))).toBeUndefined();
    expect(await queryAgainst(success({ resultType: "scalar", result: [1, "NaN"] }))).toBeUndefined();
  });

  it("refuses infinities, suggesting to guard the division", async () => {
    await expectKind(queryAgainst(vector([{}, 1, "+Inf"])), "BadResult", "returned +Inf; guard divisions against zero");
    await expectKind(queryAgainst(vector([{}, 1, "-Inf"])), "BadResult", "returned -Inf");
  });

  it("refuses several series, naming them and suggesting sum(...)", async () => {
    const error = await expectKind(
      queryAgainst(vector([{ __name__: "m", tenant: "acme" }, 1, "1"], [{ __name__: "m", tenant: "globex" }, 1, "2"]), "m"),
      "BadResult",
      'the query "m" on Prometheus at http://127.0.0.1:',
    );
    expect(error.message).toContain('returned 2 series (m{tenant="acme"}, m{tenant="globex"}) but a signal needs one series per tenant');
    expect(error.message).toContain("aggregate the rest away, e.g. sum(...)");
  });

  it("refuses range vectors and strings", async () => {
    await expectKind(queryAgainst(success({ resultType: "matrix", result: [] })), "BadResult", "returned a range vector; a signal needs an instant value");
    await expectKind(queryAgainst(success({ resultType: "string", result: [1, "hello"] })), "BadResult", "returned a string");
  });

  it("refuses malformed answers", async () => {
    await expectKind(queryAgainst(success({ resultType: "vector", result: [{ metric: {}, value: [1, 2] }] })), "BadResult", "malformed sample");
    await expectKind(queryAgainst(vector([{}, 1, "twelve"])), "BadResult", 'the value "twelve", which is not a number');
    await expectKind(queryAgainst(success({ resultType: "histogram", result: [] })), "BadResult", 'unknown result type "histogram"');
  });
});

describe("createPrometheusClient: requests", () => {
  it("POSTs the query form-encoded to /api/v1/query under the URL's path prefix, with Prometheus's own timeout", async () => {
    const { url, requests } = await serve(vector());
    const promql = 'sum(increase(http_requests_total{tenant="a&b=c"}[1d]))';
    await createPrometheusClient({ url: `${url}/prometheus`, timeoutMs: 2500 }).query(promql);
    expect(requests).toHaveLength(1);
    const [request] = requests;
    expect(request).toMatchObject({ method: "POST", url: "/prometheus/api/v1/query" });
    expect(request?.headers["content-type"]).toBe("application/x-www-form-urlencoded");
    expect(request?.headers.accept).toBe("application/json");
    expect(Object.fromEntries(new URLSearchParams(request?.body))).toEqual({ query: promql, timeout: "2500ms" });
    expect(request?.headers.authorization).toBeUndefined();
  });

  it("sends the bearer token, asking for it on every query so rotated tokens are used", async () => {
    const { url, requests } = await serve(vector());
    let n = 0;
    const client = createPrometheusClient({ url, bearerToken: async () => `token-${++n}\n` });
    await client.query("up");
    await client.query("up");
    expect(requests.map((r) => r.headers.authorization)).toEqual(["Bearer token-1", "Bearer token-2"]);
  });

  it("turns credentials in the URL into Basic auth and never shows them", async () => {
    const { url, requests } = await serve((_req, res) => res.writeHead(500).end("boom"));
    const client = createPrometheusClient({ url: url.replace("http://", "http://user:s%3Acret@") });
    expect(client.url).toBe(url);
    const error = await expectKind(client.query("up"), "ServerError", `Prometheus at ${url} answered HTTP 500: boom`);
    expect(error.message).not.toContain("cret");
    expect(error.url).toBe(url);
    expect(requests[0]?.headers.authorization).toBe(`Basic ${Buffer.from("user:s:cret").toString("base64")}`);
  });

  it("refuses a URL that is not http(s)", () => {
    expect(() => createPrometheusClient({ url: "prometheus:9090" })).toThrow("is not http(s); set it to e.g. http://prometheus.monitoring:9090");
    expect(() => createPrometheusClient({ url: "not a url" })).toThrow('the Prometheus URL "not a url" is not a URL');
  });

  it("refuses an empty query without asking Prometheus", async () => {
    const { url, requests } = await serve(vector());
    await expectKind(createPrometheusClient({ url }).query("  "), "BadQuery", "is empty");
    expect(requests).toHaveLength(0);
  });
});

describe("createPrometheusClient: errors", () => {
  it("classifies Prometheus's bad_data as BadQuery, with its message", async () => {
    const error = await expectKind(
      queryAgainst(json(400, { status: "error", errorType: "bad_data", error: 'invalid parameter "query": 1:5: parse error: unclosed left parenthesis' }), "sum("),
      "BadQuery",
      /^Prometheus at http:\/\/127\.0\.0\.1:\d+ rejected the query "sum\(": invalid parameter "query": 1:5: parse error: unclosed left parenthesis; fix the PromQL of the signal in the PlacementPolicy$/,
    );
    expect(error.status).toBe(400);
  });

  it("classifies execution errors as BadQuery", async () => {
    await expectKind(queryAgainst(json(422, { status: "error", errorType: "execution", error: "many-to-many matching not allowed" })), "BadQuery", "could not evaluate the query");
  });

  it("classifies Prometheus's own timeout and a gateway timeout as Timeout", async () => {
    await expectKind(queryAgainst(json(503, { status: "error", errorType: "timeout", error: "query timed out in expression evaluation" })), "Timeout", "gave up evaluating the query");
    await expectKind(queryAgainst((_req, res) => res.writeHead(504).end("Gateway Timeout")), "Timeout", "HTTP 504");
  });

  it("classifies other API errors and non-API answers as ServerError, saying what to check", async () => {
    await expectKind(queryAgainst(json(503, { status: "error", errorType: "unavailable", error: "TSDB not ready" })), "ServerError", "is not ready (HTTP 503: TSDB not ready)");
    await expectKind(queryAgainst(json(500, { status: "error", errorType: "internal", error: "disk full" })), "ServerError", "(HTTP 500, internal: disk full); check Prometheus's logs");
    await expectKind(queryAgainst((_req, res) => res.writeHead(401).end("Unauthorized")), "ServerError", "refused the request (HTTP 401: Unauthorized); configure a bearer token");
    await expectKind(queryAgainst((_req, res) => res.writeHead(404).end("404 page not found")), "ServerError", "/api/v1/query (HTTP 404); check the URL, including a path prefix");
    await expectKind(queryAgainst((_req, res) => res.writeHead(200, { "content-type": "text/html" }).end("<html>Grafana</html>")), "ServerError", "something that is not the Prometheus API (<html>Grafana</html>)");
  });

  it("does not follow redirects, naming the target", async () => {
    await expectKind(queryAgainst((_req, res) => res.writeHead(302, { location: "https://sso.example.com/login" }).end()), "ServerError", "redirect (HTTP 302) to https://sso.example.com/login");
  });

  it("reports a closed port as Unreachable, with the URL and the socket error", async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    await expectKind(createPrometheusClient({ url }).query("up"), "Unreachable", `could not reach Prometheus at ${url}: connect ECONNREFUSED`);
  });

  it("reports a failing token source as Unreachable", async () => {
    const { url, requests } = await serve(vector());
    const bearerToken = () => {
      throw new Error("ENOENT: /var/run/secrets/token");
    };
    await expectKind(createPrometheusClient({ url, bearerToken }).query("up"), "Unreachable", "could not get the bearer token for Prometheus at");
    expect(requests).toHaveLength(0);
  });

  it("times out a Prometheus that does not answer", async () => {
    const { url } = await serve(() => {
      /* never answers */
    });
    const started = Date.now();
    const error = await expectKind(createPrometheusClient({ url, timeoutMs: 200 }).query("up"), "Timeout", `Prometheus at ${url} did not answer the query "up" within 200 ms`);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(error.cause).toBeDefined();
  });

  it("rejects with the caller's reason when the caller aborts, not with a PrometheusError", async () => {
    const { url } = await serve(() => {
      /* never answers */
    });
    const controller = new AbortController();
    const reason = new Error("operator shutting down");
    setTimeout(() => controller.abort(reason), 50);
    await expect(createPrometheusClient({ url, timeoutMs: 5000 }).query("up", { signal: controller.signal })).rejects.toBe(reason);
    await expect(createPrometheusClient({ url }).query("up", { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
  });

  it("leaves no listener on the caller's signal after a query", async () => {
    const { url } = await serve(vector());
    const controller = new AbortController();
    let listeners = 0;
    const { addEventListener, removeEventListener } = controller.signal;
    controller.signal.addEventListener = (...args: Parameters<AbortSignal["addEventListener"]>) => (listeners++, addEventListener.apply(controller.signal, args));
    controller.signal.removeEventListener = (...args: Parameters<AbortSignal["removeEventListener"]>) => (listeners--, removeEventListener.apply(controller.signal, args));
    const client = createPrometheusClient({ url });
    for (let i = 0; i < 3; i++) await client.query("up", { signal: controller.signal });
    expect(listeners).toBe(0);
  });
});
