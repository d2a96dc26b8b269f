import { systemClock, type Clock, type TimerHandle } from "./clock.ts";

/** Client-side request limits, as client-go's rest.Config QPS and Burst. */
export interface RateLimit {
  /** Requests per second on average; 0 turns the limit off. */
  qps: number;
  /** Requests that may go at once after a quiet spell (the bucket's size). */
  burst: number;
}

export interface RateLimiter {
  /** Resolves when the caller may send one request; rejects with the signal's reason when it aborts first. */
  take(signal?: AbortSignal): Promise<void>;
}

/**
 * A token bucket (client-go's flowcontrol.NewTokenBucketRateLimiter): `burst` tokens, refilled at
 * `qps` a second. Each take() reserves a token at once, going into debt when none is left, and
 * waits until the debt is paid off, so waiters go in the order they came and none waits longer
 * than the ones before it.
 */
export function createTokenBucket(limit: RateLimit, clock: Clock = systemClock): RateLimiter {
  if (!(limit.qps > 0) || !(limit.burst >= 1)) throw new RangeError(`a token bucket needs qps > 0 and burst ≥ 1, got qps ${limit.qps}, burst ${limit.burst}`);
  let tokens = limit.burst;
  let at = clock.now();

  return {
    take(signal) {
      if (signal?.aborted) return Promise.reject(signal.reason);
      const now = clock.now();
      tokens = Math.min(limit.burst, tokens + ((now - at) / 1000) * limit.qps);
      at = now;
      tokens -= 1;
      if (tokens >= 0) return Promise.resolve();
      const waitMs = Math.ceil((-tokens / limit.qps) * 1000);
      return new Promise<void>((resolveTake, reject) => {
        let timer: TimerHandle | undefined;
        const onAbort = (): void => {
          if (timer) clock.clearTimeout(timer);
          // The reservation is handed back: the request it was for is never sent.
          tokens += 1;
          reject(signal?.reason);
        };
        timer = clock.setTimeout(() => {
          signal?.removeEventListener("abort", onAbort);
          resolveTake();
        }, waitMs);
        signal?.addEventListener("abort", onAbort, { once: true });
      });
    },
  };
}

/** No limit: what a client without a RateLimit (or with qps 0) uses. */
export const unlimited: RateLimiter = { take: (signal) => (signal?.aborted ? Promise.reject(signal.reason) : Promise.resolve()) };

/** The longest a Retry-After is honoured: a server asking for minutes gets asked again sooner. */
export const MAX_RETRY_AFTER_MS = 10_000;
/** How often one request is retried on 429 (client-go's default maxRetries). */
export const MAX_RETRIES = 10;

/**
 * How long to wait before retrying an answer, or undefined when it is not to be retried: as
 * client-go's checkWait, a 429 or a 5xx that carries Retry-After (whole seconds), bounded by
 * MAX_RETRY_AFTER_MS. A 429 without the header (not what API Priority and Fairness sends, but a
 * proxy might) waits one second.
 */
export function retryDelayMs(status: number, retryAfter: string | undefined): number | undefined {
  if (status !== 429 && status < 500) return undefined;
  const seconds = retryAfter !== undefined && /^\s*\d+\s*$/.test(retryAfter) ? Number(retryAfter) : undefined;
  if (seconds === undefined) return status === 429 ? 1_000 : undefined;
  return Math.min(seconds * 1000, MAX_RETRY_AFTER_MS);
}
