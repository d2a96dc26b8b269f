import type { StackRequest } from "../operator/src/provision/port.ts";
import { COST_KEYS, REQUIRED_COST_KEYS } from "../operator/src/api/labels.ts";
import { TagError, tagProblems } from "./tags.ts";

/**
 * A stack refuses to run with tags that would lose cost: the request's tags must be valid AWS tags,
 * carry every required key, and name this tenant and this stack's tier.
 */
export function checkStackTags(request: StackRequest): void {
  const problems = tagProblems(request.tags);
  const missing = REQUIRED_COST_KEYS.filter((key) => !request.tags[key]);
  if (missing.length > 0) {
    problems.push(`tags lack the required cost keys ${missing.join(", ")}: build them with costTags() from pulumi/tags.ts`);
  }
  const expected = { [COST_KEYS.tenant]: request.tenantId, [COST_KEYS.tier]: request.kind };
  for (const [key, value] of Object.entries(expected)) {
    const actual = request.tags[key];
    if (actual !== undefined && actual !== value) {
      problems.push(`tag ${key} is ${JSON.stringify(actual)} but this is the ${request.kind} stack of tenant ${request.tenantId}: expected ${JSON.stringify(value)}`);
    }
  }
  if (problems.length > 0) throw new TagError(problems);
}
