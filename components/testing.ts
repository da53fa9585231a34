// Pulumi mocks for testing a program that uses the components (`drs-cross-account-kms/testing`):
// every resource the components create answers with the IDs and ARNs AWS would give it, in the
// account its provider is pinned to (allowedAccountIds) and the Region it is created in, so what
// a component derives from them (a key policy naming a role's ARN and unique ID, a template
// naming the key's ARN) has the shape it has in AWS. IDs are derived from the resource's name:
// the same program gives the same ARNs on every run.
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";
import { partitionOf, providerAccountId } from "./policies/aws";

export interface DrsMockOptions {
    /** The account of a resource whose provider names none (no allowedAccountIds, or the default provider). Default 123456789012. */
    accountId?: string;
    /** The Region of a resource that sets none and whose provider sets none. Default us-east-1. */
    region?: string;
    project?: string;
    stack?: string;
    /** Run as `pulumi preview` does (default false: as `pulumi up`). */
    preview?: boolean;
}

/** A resource the program registered, with what the mocks answered and the account it landed in. */
export interface MockedResource {
    type: string;
    name: string;
    inputs: Record<string, unknown>;
    id: string;
    state: Record<string, unknown>;
    account: string;
    region: string;
}

/** What setDrsMocks installed: every registration so far, in order. */
export interface DrsMocks {
    resources: MockedResource[];
    /** The resources of one type, such as `aws:kms/key:Key`. */
    ofType(type: string): MockedResource[];
}

/** Hex digits derived from a seed: stable IDs without a random generator. */
const hex = (seed: string, length: number) => createHash("sha256").update(seed).digest("hex").slice(0, length);
const uuid = (seed: string) => {
    const h = hex(seed, 32);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
};

/** The ID and outputs AWS gives each resource type the components create; undefined for the others (their inputs echoed). */
function answer(type: string, name: string, given: Record<string, unknown>, account: string, region: string) {
    const partition = partitionOf(region);
    // The inputs the answers use, as text (an input not set is undefined).
    const inputs: Record<string, string | undefined> = Object.fromEntries(
        Object.entries(given).map(([key, value]) => [key, value === undefined ? undefined : String(value)]),
    );
    const seed = `${account}/${region}/${type}/${name}`;
    switch (type) {
        case "aws:kms/key:Key": {
            const keyId = given.multiRegion === true || given.multiRegion === "true" ? `mrk-${hex(seed, 32)}` : uuid(seed);
            return { id: keyId, state: { keyId, arn: `arn:${partition}:kms:${region}:${account}:key/${keyId}` } };
        }
        case "aws:kms/replicaKey:ReplicaKey": {
            const keyId =
                String(inputs.primaryKeyArn ?? "")
                    .split("/")
                    .pop() || `mrk-${hex(seed, 32)}`;
            return { id: keyId, state: { keyId, arn: `arn:${partition}:kms:${region}:${account}:key/${keyId}` } };
        }
        case "aws:kms/alias:Alias":
            return { id: inputs.name, state: { arn: `arn:${partition}:kms:${region}:${account}:${inputs.name}` } };
        case "aws:iam/role:Role": {
            const roleName = inputs.name ?? `${name}-${hex(seed, 7)}`;
            // IAM's unique IDs of roles: AROA and 17 characters.
            const uniqueId = `AROA${hex(seed, 17).toUpperCase()}`;
            return {
                id: roleName,
                state: { name: roleName, uniqueId, arn: `arn:${partition}:iam::${account}:role${inputs.path ?? "/"}${roleName}` },
            };
        }
        case "aws:iam/policy:Policy": {
            const policyName = inputs.name ?? `${name}-${hex(seed, 7)}`;
            const arn = `arn:${partition}:iam::${account}:policy${inputs.path ?? "/"}${policyName}`;
            return { id: arn, state: { name: policyName, arn, policyId: `ANPA${hex(seed, 17).toUpperCase()}` } };
        }
        case "aws:iam/rolePolicyAttachment:RolePolicyAttachment":
            return { id: `${inputs.role}-${hex(seed, 8)}`, state: {} };
        case "aws:drs/replicationConfigurationTemplate:ReplicationConfigurationTemplate": {
            const id = `rct-${hex(seed, 17)}`;
            return { id, state: { arn: `arn:${partition}:drs:${region}:${account}:replication-configuration-template/${id}` } };
        }
        case "aws-native:drs:LaunchConfigurationTemplate": {
            const id = `lct-${hex(seed, 17)}`;
            return {
                id,
                state: {
                    launchConfigurationTemplateId: id,
                    arn: `arn:${partition}:drs:${region}:${account}:launch-configuration-template/${id}`,
                },
            };
        }
        case "aws:sns/topic:Topic": {
            const topicName = inputs.name ?? `${name}-${hex(seed, 7)}`;
            const arn = `arn:${partition}:sns:${region}:${account}:${topicName}`;
            return { id: arn, state: { name: topicName, arn } };
        }
        case "aws:sns/topicPolicy:TopicPolicy":
            return { id: String(inputs.arn ?? name), state: {} };
        case "aws:cloudwatch/eventRule:EventRule": {
            const ruleName = inputs.name ?? `${name}-${hex(seed, 7)}`;
            const bus = inputs.eventBusName && inputs.eventBusName !== "default" ? `${inputs.eventBusName}/` : "";
            return { id: ruleName, state: { name: ruleName, arn: `arn:${partition}:events:${region}:${account}:rule/${bus}${ruleName}` } };
        }
        case "aws:cloudwatch/eventTarget:EventTarget":
            return { id: `${inputs.rule}-${inputs.targetId ?? hex(seed, 8)}`, state: {} };
        case "aws:ssoadmin/customerManagedPolicyAttachment:CustomerManagedPolicyAttachment":
            return { id: `${inputs.permissionSetArn},${inputs.instanceArn}-${hex(seed, 8)}`, state: {} };
    }
    return undefined;
}

/**
 * Sets Pulumi mocks (pulumi.runtime.setMocks) that answer the components' resources with the IDs
 * and ARNs AWS gives them: `arn:aws:kms:<region>:<account>:key/<uuid>` for a key, a role's ARN
 * with an `AROA…` unique ID, `rct-…` for a replication template, and so on. Call it before the
 * program's modules are loaded (import them in the test after it). Invokes: `aws:iam/getRole`
 * (an existing staging role) answers as a role of that name; any other invoke is an error naming it.
 */
export async function setDrsMocks(options: DrsMockOptions = {}): Promise<DrsMocks> {
    const defaults = { accountId: options.accountId ?? "123456789012", region: options.region ?? "us-east-1" };
    const resources: MockedResource[] = [];
    // Providers by the reference their resources name: `<urn>::<id>`, the URN ending in `::<name>`.
    const providers = new Map<string, Record<string, unknown>>();
    const providerOf = (ref?: string) => (ref ? providers.get(ref.split("::").slice(-2).join("::")) : undefined);
    const placeOf = (inputs: Record<string, unknown>, ref?: string) => {
        const provider = providerOf(ref);
        const account = providerAccountId(provider?.allowedAccountIds) ?? defaults.accountId;
        const region = String(inputs.region ?? provider?.region ?? defaults.region);
        return { account, region };
    };
    await pulumi.runtime.setMocks(
        {
            newResource(args) {
                const inputs = args.inputs as Record<string, unknown>;
                if (args.type.startsWith("pulumi:providers:")) {
                    const id = `${args.name}-id`;
                    providers.set(`${args.name}::${id}`, inputs);
                    return { id, state: inputs };
                }
                const { account, region } = placeOf(inputs, args.provider);
                const answered = answer(args.type, args.name, inputs, account, region);
                const id = args.id || answered?.id || `${args.name}-${hex(`${account}/${region}/${args.type}/${args.name}`, 8)}`;
                const state = { ...inputs, ...answered?.state };
                resources.push({ type: args.type, name: args.name, inputs, id, state, account, region });
                return { id, state };
            },
            call(args) {
                if (args.token === "aws:iam/getRole:getRole") {
                    const { account, region } = placeOf(args.inputs, args.provider);
                    return answer(
                        "aws:iam/role:Role",
                        args.inputs.name,
                        { name: args.inputs.name, path: "/service-role/" },
                        account,
                        region,
                    )!.state;
                }
                throw new Error(`drs-cross-account-kms/testing does not answer the invoke ${args.token}: mock it in your test.`);
            },
        },
        options.project ?? "project",
        options.stack ?? "stack",
        options.preview ?? false,
    );
    return { resources, ofType: (type) => resources.filter((r) => r.type === type) };
}
