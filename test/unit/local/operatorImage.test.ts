import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { imageConfigJson } from "../../../operator/src/local/imageArchive.ts";
import { appInputsHash, BUILD_CONTEXT, debianMirror, RUNTIME_CONFIG } from "../../../operator/src/local/operatorImage.ts";
import { projectRoot } from "../../../operator/src/local/paths.ts";

/** The instructions of the Dockerfile's last stage, continuation lines joined. */
function finalStage(dockerfile: string): Array<{ op: string; args: string }> {
  const lines = dockerfile.replace(/\\\n/g, " ").split("\n").map((line) => line.trim()).filter((line) => line && !line.startsWith("#"));
  const from = lines.map((line) => line.split(/\s+/)[0]?.toUpperCase()).lastIndexOf("FROM");
  return lines.slice(from).map((line) => {
    const [op = "", ...rest] = line.split(/\s+/);
    return { op: op.toUpperCase(), args: rest.join(" ") };
  });
}

const stage = finalStage(readFileSync(join(projectRoot, "Dockerfile"), "utf8"));
const last = (op: string): string => stage.filter((i) => i.op === op).at(-1)?.args ?? "";

describe("the image `landlord local image` builds is the Dockerfile's", () => {
  it("has the same entrypoint, command, user, working directory and ports", () => {
    expect(JSON.parse(last("ENTRYPOINT"))).toEqual(RUNTIME_CONFIG.entrypoint);
    expect(JSON.parse(last("CMD"))).toEqual(RUNTIME_CONFIG.cmd);
    expect(last("USER")).toBe(RUNTIME_CONFIG.user);
    expect(last("WORKDIR")).toBe(RUNTIME_CONFIG.workingDir);
    expect(last("EXPOSE").split(/\s+/).map(Number)).toEqual(RUNTIME_CONFIG.exposedPorts);
  });

  it("sets the same environment (PATH aside, which the node base image sets)", () => {
    const env = Object.fromEntries(
      stage.filter((i) => i.op === "ENV").flatMap((i) => [...i.args.matchAll(/(\w+)=(\S+)/g)].map(([, name, value]) => [name, value])),
    );
    const { PATH: _, ...ours } = RUNTIME_CONFIG.env;
    expect(ours).toEqual(env);
  });

  it("copies the files the .dockerignore admits to the runtime", () => {
    const admitted = readFileSync(join(projectRoot, ".dockerignore"), "utf8")
      .split("\n")
      .filter((line) => line.startsWith("!"))
      .map((line) => line.slice(1).replace(/\/$/, ""))
      // The Pulumi CLI's wrapper module feeds the pulumi build stage only (PULUMI=none here).
      .filter((path) => !path.startsWith("tools/pulumi/"));
    expect([...BUILD_CONTEXT].sort()).toEqual(admitted.sort());
    expect(stage.some((i) => i.op === "COPY" && i.args === ". .")).toBe(true);
    expect(stage.some((i) => i.op === "COPY" && i.args.includes("/app/node_modules"))).toBe(true);
    expect(stage.some((i) => i.op === "COPY" && i.args.includes("/app/dist"))).toBe(true);
  });

  it("writes an image config a container runtime reads: the runtime part and one diff id per layer", () => {
    const config = JSON.parse(imageConfigJson(RUNTIME_CONFIG, ["a".repeat(64), "b".repeat(64)], "1970-01-01T00:00:00Z")) as {
      config: { Entrypoint: string[]; User: string; Env: string[]; ExposedPorts: Record<string, object> };
      rootfs: { diff_ids: string[] };
    };
    expect(config.config).toMatchObject({ Entrypoint: ["node", "--expose-gc", "dist/operator/src/cli/run.js"], User: "1000:1000" });
    expect(config.config.Env).toContain("NODE_ENV=production");
    expect(Object.keys(config.config.ExposedPorts)).toEqual(["8080/tcp", "8081/tcp"]);
    expect(config.rootfs.diff_ids).toEqual([`sha256:${"a".repeat(64)}`, `sha256:${"b".repeat(64)}`]);
  });

  it("is cached by the content of what it is made from", () => {
    expect(appInputsHash()).toMatch(/^[0-9a-f]{16}$/);
    expect(appInputsHash()).toBe(appInputsHash());
  });

  it("makes its Debian base from the mirror apt uses", () => {
    expect(debianMirror("Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm\n")).toBe("http://mirror.example/debian");
    expect(debianMirror("deb [arch=amd64] https://deb.nodesource.com/node_20.x nodistro main\ndeb http://ftp.de.debian.org/debian/ bookworm main\n")).toBe("http://ftp.de.debian.org/debian");
    expect(debianMirror("")).toBe("http://deb.debian.org/debian");
  });
});
