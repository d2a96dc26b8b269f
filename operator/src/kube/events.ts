import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import type { KubeObject } from "./client.ts";
import type { Resources } from "./resources.ts";

/** Records a Kubernetes Event about an object; what the reconcilers are given to say what they did. */
export interface EventRecorder {
  record(object: KubeObject, type: "Normal" | "Warning", reason: string, message: string): void;
}

const REPORTING_CONTROLLER = "landlord.dev/operator";

/**
 * Kubernetes Events for decisions and failures. Events of cluster-scoped objects live in the
 * "default" namespace, as client-go's recorder puts them, so `kubectl describe tp` finds them.
 * Recording never fails a reconcile: an event that cannot be written is logged and dropped.
 */
export function createEventRecorder(options: { resources: Resources; log: Logger; instance: string; now?: () => Date }): EventRecorder {
  const now = options.now ?? (() => new Date());
  return {
    record(object: KubeObject, type: "Normal" | "Warning", reason: string, message: string): void {
      const namespace = object.metadata.namespace ?? "default";
      const timestamp = now().toISOString();
      const event: KubeObject = {
        apiVersion: "v1",
        kind: "Event",
        metadata: { name: `${object.metadata.name}.${randomBytes(8).toString("hex")}`, namespace },
        involvedObject: {
          apiVersion: object.apiVersion,
          kind: object.kind,
          name: object.metadata.name,
          ...(object.metadata.namespace ? { namespace: object.metadata.namespace } : {}),
          ...(object.metadata.uid ? { uid: object.metadata.uid } : {}),
        },
        type,
        reason,
        message: message.slice(0, 1024),
        firstTimestamp: timestamp,
        lastTimestamp: timestamp,
        count: 1,
        source: { component: "landlord" },
        reportingComponent: REPORTING_CONTROLLER,
        reportingInstance: options.instance,
      };
      options.resources.create(event).catch((error: unknown) => {
        options.log.warn({ err: String(error), reason, object: object.metadata.name }, "Could not record an event");
      });
    },
  };
}
