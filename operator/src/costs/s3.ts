import { createWriteStream, mkdirSync } from "node:fs";
import { dirname, join, resolve, sep } from "node:path";
import { pipeline } from "node:stream/promises";
import type { Readable } from "node:stream";
import { BillError } from "./reader.ts";

/**
 * Fetches an s3://bucket/prefix export to a local directory with the AWS SDK's standard
 * credential chain (environment, shared config/SSO profiles, web identity, container and instance
 * roles). DuckDB's own S3 support is an extension downloaded at run time, which an air-gapped
 * cluster job cannot do; the SDK is a normal npm dependency. An endpoint from AWS_ENDPOINT_URL_S3
 * or AWS_ENDPOINT_URL (S3-compatible stores, moto in the tests) is addressed path-style.
 */

export interface S3Url {
  bucket: string;
  prefix: string;
}

export function parseS3Url(url: string): S3Url {
  const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(url);
  if (!m) throw new BillError(`${url}: not an s3://bucket/prefix URL`);
  return { bucket: m[1] as string, prefix: m[2] ?? "" };
}

const EXPORT_FILE = /\.(parquet|csv|csv\.gz)$/i;

/** Downloads every .parquet/.csv/.csv.gz object under the prefix into `dir`; returns their keys. */
export async function downloadS3Prefix(url: string, dir: string): Promise<string[]> {
  const { bucket, prefix } = parseS3Url(url);
  // Loaded on demand: the SDK is large, and most runs read local files.
  const { S3Client, ListObjectsV2Command, GetObjectCommand } = await import("@aws-sdk/client-s3");
  const endpoint = process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL;
  const client = new S3Client({ ...(endpoint ? { endpoint, forcePathStyle: true } : {}), maxAttempts: 3 });
  const problem = (error: unknown): string => {
    const e = error as { name?: string; message?: string; Code?: string };
    return `${e.name ?? e.Code ?? "Error"}: ${(e.message ?? String(error)).split("\n")[0]}`;
  };
  try {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      let page;
      try {
        page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      } catch (error) {
        throw new BillError(`${url}: cannot list the prefix: ${problem(error)}`);
      }
      for (const o of page.Contents ?? []) if (o.Key && EXPORT_FILE.test(o.Key)) keys.push(o.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    if (keys.length === 0) throw new BillError(`${url}: no .parquet, .csv or .csv.gz object under this prefix`);
    for (const key of keys.sort()) {
      const target = join(dir, key);
      // A key is data, not a path: one that climbs out of the download directory is refused.
      if (!resolve(target).startsWith(resolve(dir) + sep)) throw new BillError(`s3://${bucket}/${key}: the key leaves the download directory`);
      mkdirSync(dirname(target), { recursive: true });
      try {
        const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        await pipeline(object.Body as Readable, createWriteStream(target));
      } catch (error) {
        throw new BillError(`s3://${bucket}/${key}: cannot read: ${problem(error)}`);
      }
    }
    return keys;
  } finally {
    client.destroy();
  }
}
