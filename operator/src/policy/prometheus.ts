/**
 * The Prometheus signal source of a PlacementPolicy: renders a per-tenant PromQL template and runs
 * it as an instant query against the Prometheus HTTP API (`/api/v1/query`).
 *
 * A signal is one number per tenant, so a query must answer with a scalar or a vector of at most
 * one series. Anything else is an error that says how to fix the query; no data (an empty vector,
 * or NaN) is `undefined`, which the policy treats as "unknown signal" and never moves a tenant on.
 */

/** One value of a signal. `at` is the evaluation time of the instant query, in ms since the epoch. */
export interface PromSample {
  value: number;
  at: number;
}

export type PrometheusErrorKind = "Timeout" | "Unreachable" | "BadQuery" | "ServerError" | "BadResult";

/**
 * Every failure of a Prometheus signal, classified once here:
 * - `Timeout`: no answer within the client's timeout, or Prometheus gave up evaluating the query;
 * - `Unreachable`: no HTTP answer at all (connection refused, DNS, TLS, a bad URL, no token);
 * - `BadQuery`: the template or the PromQL is wrong (Prometheus's `bad_data` / `execution` errors);
 * - `ServerError`: an HTTP answer that is not a usable Prometheus API answer (5xx, 401, 404, ...);
 * - `BadResult`: a valid answer that is not one number (several series, a range vector, +Inf).
 */
export class PrometheusError extends Error {
  override name = "PrometheusError";
  readonly kind: PrometheusErrorKind;
  /** The Prometheus base URL, without credentials; undefined for template errors. */
  readonly url: string | undefined;
  /** The HTTP status of the answer, when there was one. */
  readonly status: number | undefined;

  constructor(kind: PrometheusErrorKind, message: string, options: { url?: string; status?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.kind = kind;
    this.url = options.url;
    this.status = options.status;
  }
}

// ---------------------------------------------------------------------------------------------
// Templates

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/y;
const REGEX_META = /[\\.+*?()|[\]{}^$]/g;

/**
 * Replaces `{{tenantId}}` (or `{{ tenantId }}`) in a PromQL template with the tenant id, escaped
 * for the string literal it stands in, so no tenant id can change the query's structure:
 * - in a `"..."` or `'...'` literal: `\` becomes `\\`, quotes and control characters become `\xNN`
 *   escapes, newlines `\n`. PromQL only accepts `\"` inside double quotes and `\'` inside single
 *   quotes, so a hex escape is the one spelling of a quote that is valid in both;
 * - in the literal of a regex matcher (`=~`, `!~`): RE2 metacharacters are escaped first, so the id
 *   matches itself only (`acm.` does not match `acme`);
 * - in a `` `raw` `` literal, where nothing can be escaped: an id containing a backtick is refused.
 * A placeholder outside any string literal is refused: there is no safe way to splice text into
 * PromQL syntax. An empty id is refused too: `tenant=""` would select every series *without* a
 * tenant label.
 */
export function renderQuery(template: string, vars: { tenantId: string }): string {
  const tenantId: unknown = vars?.tenantId;
  if (typeof tenantId !== "string" || tenantId === "") {
    throw new PrometheusError("BadQuery", `cannot render the query template ${quoteForMessage(template)}: the tenant id is ${tenantId === "" ? "empty" : String(tenantId)}; a tenant id is a non-empty string`);
  }
  let out = "";
  let quote: '"' | "'" | "`" | undefined;
  let regex = false;
  let comment = false;
  let i = 0;
  while (i < template.length) {
    PLACEHOLDER.lastIndex = i;
    const match = PLACEHOLDER.exec(template);
    if (match) {
      if (match[1] !== "tenantId") {
        throw new PrometheusError("BadQuery", `the query template ${quoteForMessage(template)} uses the unknown placeholder ${match[0]}; the only placeholder is {{tenantId}}`);
      }
      out += substitute(template, tenantId, comment ? "comment" : quote, regex);
      i += match[0].length;
      continue;
    }
    const ch = template[i] as string;
    out += ch;
    i++;
    if (comment) {
      if (ch === "\n") comment = false;
    } else if (quote === undefined) {
      if (ch === '"' || ch === "'" || ch === "`") {
        quote = ch;
        regex = afterRegexOperator(template, i - 1);
      } else if (ch === "#") {
        comment = true;
      }
    } else if (ch === "\\" && quote !== "`" && i < template.length) {
      // An escape inside a literal: its next character can't close the literal.
      out += template[i];
      i++;
    } else if (ch === quote) {
      quote = undefined;
    }
  }
  return out;
}

function substitute(template: string, value: string, context: '"' | "'" | "`" | "comment" | undefined, regex: boolean): string {
  if (context === undefined) {
    throw new PrometheusError(
      "BadQuery",
      `the query template ${quoteForMessage(template)} has {{tenantId}} outside a quoted string; put it inside a label matcher's value, e.g. http_requests_total{tenant="{{tenantId}}"}`,
    );
  }
  const literal = regex ? value.replace(REGEX_META, "\\$&") : value;
  if (context === "`") {
    if (literal.includes("`")) {
      throw new PrometheusError("BadQuery", `the tenant id ${quoteForMessage(value)} contains a backtick and cannot be placed in the raw string of ${quoteForMessage(template)}; use "{{tenantId}}" (double quotes) in the template`);
    }
    return literal;
  }
  // In a comment the value cannot matter, but a raw newline would end the comment: escape it too.
  return escapeStringLiteral(literal);
}

/** Escapes text for a PromQL (Go-syntax) double- or single-quoted string literal. */
function escapeStringLiteral(value: string): string {
  return value.replace(/[\\"'\u0000-\u001f\u007f\u2028\u2029]/g, (ch) => {
    switch (ch) {
      case "\\":
        return "\\\\";
      case "\n":
        return "\\n";
      case "\r":
        return "\\r";
      case "\t":
        return "\\t";
      default: {
        const code = ch.charCodeAt(0);
        return code < 0x100 ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
      }
    }
  });
}

/** Whether the string literal opening at `index` is the value of a `=~` or `!~` matcher. */
function afterRegexOperator(template: string, index: number): boolean {
  let j = index - 1;
  while (j >= 0 && /\s/.test(template[j] as string)) j--;
  return j >= 1 && template[j] === "~" && (template[j - 1] === "=" || template[j - 1] === "!");
}

// ---------------------------------------------------------------------------------------------
// Client

export interface PrometheusClientOptions {
  /** Base URL of Prometheus, with its path prefix if it has one: `http://prometheus.monitoring:9090`. */
  url: string;
  /** Per query, covering connect, evaluation and the answer; also sent as Prometheus's own `timeout`. */
  timeoutMs?: number;
  /** Called before every request, so rotating tokens (projected ServiceAccount files) are picked up. */
  bearerToken?: () => Promise<string | undefined> | string | undefined;
  fetchImpl?: typeof fetch;
}

export interface PrometheusClient {
  /** The base URL without credentials, for messages and status. */
  readonly url: string;
  /**
   * Runs an instant query. Resolves to the single sample, or undefined when there is no data.
   * Rejects with a PrometheusError, or with `signal.reason` when the caller aborted.
   */
  query(promql: string, options?: { signal?: AbortSignal }): Promise<PromSample | undefined>;
}

export function createPrometheusClient(options: PrometheusClientOptions): PrometheusClient {
  const { timeoutMs = 10_000, bearerToken, fetchImpl = fetch } = options;
  if (!(Number.isFinite(timeoutMs) && timeoutMs > 0)) throw new TypeError(`timeoutMs must be a positive number of milliseconds, got ${timeoutMs}`);
  const { endpoint, display, basicAuth } = parseBaseUrl(options.url);
  // A bearer token (or URL credentials) in clear text over the network would be readable by anyone
  // on the path; only the loopback interface (a sidecar, a port-forward) is exempt.
  if ((bearerToken || basicAuth) && endpoint.protocol === "http:" && !isLoopback(endpoint.hostname)) {
    throw new PrometheusError(
      "Unreachable",
      `refusing to send Prometheus credentials over plain http to ${display}: use an https:// URL, or no token`,
      { url: display },
    );
  }

  async function headers(): Promise<Record<string, string>> {
    const result: Record<string, string> = { accept: "application/json", "content-type": "application/x-www-form-urlencoded" };
    let token: string | undefined;
    try {
      token = bearerToken ? await bearerToken() : undefined;
    } catch (error) {
      throw new PrometheusError("Unreachable", `could not get the bearer token for Prometheus at ${display}: ${describe(error)}; check the token source (e.g. the mounted token file)`, {
        url: display,
        cause: error,
      });
    }
    if (token) result.authorization = `Bearer ${token.trim()}`;
    else if (basicAuth) result.authorization = `Basic ${basicAuth}`;
    return result;
  }

  async function query(promql: string, { signal }: { signal?: AbortSignal } = {}): Promise<PromSample | undefined> {
    if (typeof promql !== "string" || promql.trim() === "") {
      throw new PrometheusError("BadQuery", `the query for Prometheus at ${display} is empty; give the signal a PromQL expression`, { url: display });
    }
    signal?.throwIfAborted();
    // A fresh timeout per query, tied to the caller's signal by hand: AbortSignal.any() keeps every
    // combined signal alive as long as the caller's (a long-lived shutdown signal) on Node 20/22.
    const timeout = AbortSignal.timeout(timeoutMs);
    const controller = new AbortController();
    const onTimeout = (): void => controller.abort(timeout.reason);
    const onCallerAbort = (): void => controller.abort(signal?.reason);
    timeout.addEventListener("abort", onTimeout, { once: true });
    signal?.addEventListener("abort", onCallerAbort, { once: true });
    const context = { display, promql, timeoutMs };
    try {
      // Whole milliseconds: Prometheus refuses fractional units ("2.5s" is a bad_data error).
      const body = new URLSearchParams({ query: promql, timeout: `${Math.ceil(timeoutMs)}ms` });
      let status: number;
      let text: string;
      let location: string | null;
      try {
        // POST, form-encoded: long queries don't hit URL length limits of proxies. No redirects: a
        // redirect turns the POST into a body-less GET (a baffling "no expression found") or leads
        // to a login page; the message names the redirect target instead.
        const response = await fetchImpl(endpoint, { method: "POST", headers: await headers(), body, signal: controller.signal, redirect: "manual" });
        status = response.status;
        location = response.headers.get("location");
        text = await response.text();
      } catch (error) {
        if (signal?.aborted) throw signal.reason;
        if (timeout.aborted) {
          throw new PrometheusError(
            "Timeout",
            `Prometheus at ${display} did not answer the query ${quoteForMessage(promql)} within ${timeoutMs} ms; check that it is up and not overloaded, make the query cheaper (e.g. a recording rule) or raise the timeout`,
            { url: display, cause: error },
          );
        }
        if (error instanceof PrometheusError) throw error;
        throw new PrometheusError(
          "Unreachable",
          `could not reach Prometheus at ${display}: ${describe(error)}; check the URL, that Prometheus is running, and that network policies let the operator connect`,
          { url: display, cause: error },
        );
      }
      return interpret(status, text, location, context);
    } finally {
      timeout.removeEventListener("abort", onTimeout);
      signal?.removeEventListener("abort", onCallerAbort);
    }
  }

  return { url: display, query };
}

function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[(.*)\]$/, "$1");
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function parseBaseUrl(raw: string): { endpoint: URL; display: string; basicAuth: string | undefined } {
  let base: URL;
  try {
    base = new URL(raw);
  } catch (error) {
    throw new PrometheusError("Unreachable", `the Prometheus URL ${quoteForMessage(String(raw))} is not a URL; set it to e.g. http://prometheus.monitoring:9090`, { cause: error });
  }
  if (base.protocol !== "http:" && base.protocol !== "https:") {
    throw new PrometheusError("Unreachable", `the Prometheus URL ${quoteForMessage(redact(base))} is not http(s); set it to e.g. http://prometheus.monitoring:9090`);
  }
  // fetch refuses URLs with credentials: send them as Basic auth, and never show them.
  const basicAuth = base.username || base.password ? Buffer.from(`${decodeURIComponent(base.username)}:${decodeURIComponent(base.password)}`).toString("base64") : undefined;
  base.username = "";
  base.password = "";
  base.search = "";
  base.hash = "";
  if (!base.pathname.endsWith("/")) base.pathname += "/";
  return { endpoint: new URL("api/v1/query", base), display: redact(base), basicAuth };
}

function redact(url: URL): string {
  const copy = new URL(url.href);
  copy.username = "";
  copy.password = "";
  copy.search = "";
  copy.hash = "";
  return copy.href.replace(/\/$/, "");
}

interface QueryContext {
  display: string;
  promql: string;
  timeoutMs: number;
}

interface ApiAnswer {
  status: "success" | "error";
  data?: unknown;
  errorType?: unknown;
  error?: unknown;
}

function interpret(status: number, text: string, location: string | null, ctx: QueryContext): PromSample | undefined {
  const answer = parseApiAnswer(text);
  const url = ctx.display;
  const q = quoteForMessage(ctx.promql);
  if (answer?.status === "success" && status >= 200 && status < 300) return parseData(answer.data, ctx);
  if (answer?.status === "error") {
    const detail = typeof answer.error === "string" ? answer.error : "no error message";
    switch (answer.errorType) {
      case "bad_data":
        return fail("BadQuery", `Prometheus at ${url} rejected the query ${q}: ${detail}; fix the PromQL of the signal in the PlacementPolicy`, status);
      case "execution":
        return fail("BadQuery", `Prometheus at ${url} could not evaluate the query ${q}: ${detail}; fix the PromQL of the signal in the PlacementPolicy`, status);
      case "timeout":
        return fail("Timeout", `Prometheus at ${url} gave up evaluating the query ${q} (${detail}); make the query cheaper (e.g. a recording rule) or raise the timeout (${ctx.timeoutMs} ms, capped by Prometheus's --query.timeout)`, status);
      case "unavailable":
        return fail("ServerError", `Prometheus at ${url} is not ready (HTTP ${status}: ${detail}); it may be starting up, the signal is retried`, status);
      default:
        return fail("ServerError", `Prometheus at ${url} failed the query ${q} (HTTP ${status}, ${String(answer.errorType)}: ${detail}); check Prometheus's logs`, status);
    }
  }
  // Not a Prometheus API answer: a proxy, a login page, or not Prometheus at all.
  const snippet = text.trim().slice(0, 200).replace(/\s+/g, " ");
  if (status >= 300 && status < 400) {
    return fail("ServerError", `Prometheus at ${url} answered with a redirect (HTTP ${status}) to ${location ?? "nowhere"}; set the URL to where Prometheus serves its API (an authenticating proxy needs a bearer token instead)`, status);
  }
  if (status === 401 || status === 403) {
    return fail("ServerError", `Prometheus at ${url} refused the request (HTTP ${status}${snippet ? `: ${snippet}` : ""}); configure a bearer token that is allowed to query it`, status);
  }
  if (status === 404) {
    return fail("ServerError", `there is no Prometheus API at ${url}/api/v1/query (HTTP 404); check the URL, including a path prefix Prometheus serves under (--web.route-prefix)`, status);
  }
  if (status === 504) {
    return fail("Timeout", `a gateway in front of Prometheus at ${url} timed out on the query ${q} (HTTP 504); make the query cheaper or raise the gateway's timeout`, status);
  }
  if (status >= 200 && status < 300) {
    return fail("ServerError", `the server at ${url} answered HTTP ${status} with something that is not the Prometheus API${snippet ? ` (${snippet})` : ""}; check that the URL points at Prometheus`, status);
  }
  return fail("ServerError", `Prometheus at ${url} answered HTTP ${status}${snippet ? `: ${snippet}` : ""}; check Prometheus (and any proxy in front of it) and its logs`, status);

  function fail(kind: PrometheusErrorKind, message: string, httpStatus: number): never {
    throw new PrometheusError(kind, message, { url, status: httpStatus });
  }
}

function parseApiAnswer(text: string): ApiAnswer | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof body !== "object" || body === null) return undefined;
  const status = (body as { status?: unknown }).status;
  return status === "success" || status === "error" ? (body as ApiAnswer) : undefined;
}

function parseData(data: unknown, ctx: QueryContext): PromSample | undefined {
  const url = ctx.display;
  const q = quoteForMessage(ctx.promql);
  const bad = (what: string, fix: string): never => {
    throw new PrometheusError("BadResult", `the query ${q} on Prometheus at ${url} ${what}; ${fix}`, { url, status: 200 });
  };
  const resultType = (data as { resultType?: unknown } | null)?.resultType;
  const result = (data as { result?: unknown } | null)?.result;
  switch (resultType) {
    case "vector": {
      if (!Array.isArray(result)) return bad("returned a malformed vector", "check that the URL points at Prometheus");
      if (result.length === 0) return undefined;
      if (result.length > 1) {
        const shown = result.slice(0, 3).map((series) => formatLabels((series as { metric?: unknown }).metric)).join(", ");
        return bad(
          `returned ${result.length} series (${shown}${result.length > 3 ? ", ..." : ""}) but a signal needs one series per tenant`,
          `select the tenant with a label matcher like tenant="{{tenantId}}" and aggregate the rest away, e.g. sum(...)`,
        );
      }
      return parseSample((result[0] as { value?: unknown }).value, bad);
    }
    case "scalar":
      return parseSample(result, bad);
    case "matrix":
      return bad("returned a range vector", "a signal needs an instant value: aggregate the range with a function, e.g. sum(increase(http_requests_total{...}[1d]))");
    case "string":
      return bad("returned a string", "a signal needs a number, e.g. sum(...) of a metric");
    default:
      return bad(`returned an unknown result type ${JSON.stringify(resultType) ?? "(none)"}`, "check that the URL points at Prometheus");
  }
}

function parseSample(pair: unknown, bad: (what: string, fix: string) => never): PromSample | undefined {
  if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== "number" || typeof pair[1] !== "string") {
    return bad(`returned a malformed sample ${JSON.stringify(pair)}`, "check that the URL points at Prometheus");
  }
  const [seconds, raw] = pair as [number, string];
  // Prometheus formats NaN and the infinities as "NaN", "+Inf" and "-Inf" (Number("+Inf") is NaN).
  if (raw === "NaN") return undefined;
  if (raw === "+Inf" || raw === "-Inf") {
    return bad(`returned ${raw}`, "guard divisions against zero, e.g. x / (y > 0), so that no data gives no value");
  }
  const value = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(value)) return bad(`returned the value ${JSON.stringify(raw)}, which is not a number`, "check that the URL points at Prometheus");
  return { value, at: Math.round(seconds * 1000) };
}

function formatLabels(metric: unknown): string {
  if (typeof metric !== "object" || metric === null) return "{}";
  const { __name__: name, ...labels } = metric as Record<string, unknown>;
  const inner = Object.entries(labels)
    .map(([key, value]) => `${key}=${JSON.stringify(String(value))}`)
    .join(", ");
  return `${typeof name === "string" ? name : ""}{${inner}}`;
}

function quoteForMessage(text: string): string {
  return JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}...` : text);
}

/** The useful part of a fetch failure: undici wraps the socket error in `TypeError: fetch failed`. */
function describe(error: unknown): string {
  const cause = (error as { cause?: unknown } | undefined)?.cause;
  const inner = cause instanceof Error ? cause : error instanceof Error ? error : undefined;
  if (!inner) return String(error);
  const code = (inner as NodeJS.ErrnoException).code;
  return code && !inner.message.includes(code) ? `${code} ${inner.message}` : inner.message;
}
