import type * as pulumi from "@pulumi/pulumi";
import { Provider } from "@pulumi/aws/provider.js";

/**
 * Every program creates its AWS resources through an explicit provider whose defaultTags are the
 * cost tags: a resource cannot forget them, and no resource sets tags of its own.
 */
export interface TaggedProviderArgs {
  region: string;
  /** The cost tags (pulumi/tags.ts costTags). */
  tags: Record<string, string>;
  /** Work in another account by assuming this role (the tenant account's role). */
  assumeRole?: { roleArn: pulumi.Input<string>; sessionName: string };
}

export function taggedProvider(name: string, args: TaggedProviderArgs, opts?: pulumi.CustomResourceOptions): Provider {
  return new Provider(
    name,
    {
      region: args.region,
      defaultTags: { tags: args.tags },
      ...(args.assumeRole ? { assumeRoles: [{ roleArn: args.assumeRole.roleArn, sessionName: args.assumeRole.sessionName }] } : {}),
    },
    opts,
  );
}
