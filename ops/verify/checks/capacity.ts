// The checks that count against quotas (the key policy's bytes, servers replicating and extended,
// managed policies per role) and the monthly cost: figures the other checks read, judged here.
import { SourceServer } from "@aws-sdk/client-drs";
import { StagingKeyExport } from "../../../program/contract";
import { PriceTable, drsPriceIn, hoursPerMonth, money } from "../../../plan/pricing";
import { nearLimit, quotas } from "../../../plan/quotas";
import { AwsAccess } from "../../aws/access";
import { attachedRolePolicies } from "../../aws/iamReads";
import { unique } from "../lists";
import { dependsOn } from "../outcomes";
import { Outcome } from "../types";

/** The key policy's size against KMS's limit (docs/aws-requirements.md, Limits). */
export function keyPolicySizeOutcome(bytes: number | undefined): Outcome {
    const limit = quotas.keyPolicyBytes.value;
    if (bytes === undefined) return dependsOn("key-policy", "the key policy could not be read");
    const share = `${bytes.toLocaleString("en-US")} of ${limit.toLocaleString("en-US")} bytes (${Math.round((bytes / limit) * 100)}%)`;
    if (bytes >= limit * nearLimit)
        return {
            status: "WARN",
            message: `The key policy takes ${share}: near KMS's limit.`,
            fix: "Fewer targets or statements per key: a key policy cannot grow past the limit.",
        };
    return { status: "PASS", message: `The key policy takes ${share}.` };
}

/** Servers replicating in the staging account and Region against DRS's 300 (docs/aws-requirements.md, Capacity). */
export function replicatingCapacity(key: StagingKeyExport, count: number | undefined): Outcome {
    const limit = quotas.replicatingServers.value;
    const where = `${key.accountId}/${key.region}`;
    if (count === undefined) return dependsOn("source-server-encryption", `the servers replicating in ${where} could not be listed`);
    const usage = `${count} of ${limit} replicating servers in ${where}`;
    if (count >= limit * nearLimit)
        return {
            status: "WARN",
            message: `${usage}: near DRS's limit per account and Region.`,
            fix: "Replicate further servers into another staging account (a new staging entry), extended into the same target.",
        };
    return { status: "PASS", message: `${usage}.` };
}

/** The servers extended into one target Region from the stack's staging accounts, against the source-server quota. */
export function targetCapacity(target: string, region: string, keys: StagingKeyExport[], counts: Map<string, number>): Outcome {
    const known = keys.filter((k) => counts.has(k.keyArn));
    if (known.length === 0) return dependsOn("extended-source-servers", `the extended servers in ${target}/${region} could not be listed`);
    const extended = known.reduce((t, k) => t + counts.get(k.keyArn)!, 0);
    const accounts = unique(known.filter((k) => counts.get(k.keyArn)! > 0).map((k) => k.accountId));
    const q = quotas.sourceServers;
    const quota = q.value;
    const message =
        `${extended} servers extended into ${target} in ${region} from ${accounts.length} of the stack's ${unique(keys.map((k) => k.accountId)).length} staging accounts; ` +
        `source servers per account and Region: ${quota.toLocaleString("en-US")}${q.confirmed ? "" : " (unconfirmed: check Service Quotas, AWS Elastic Disaster Recovery, L-E28BE5E0)"}` +
        `, of which the target's own and other stacks' servers use some too. Staging accounts per target: ${quotas.stagingAccountsPerTarget.note}.`;
    if (extended >= quota * nearLimit)
        return { status: "WARN", message, fix: "Ask for a higher quota (Service Quotas) or recover into a second target account." };
    return { status: "PASS", message };
}

/** Managed policies attached to a key-user role, against target.maxPoliciesPerRole (IAM's quota: docs/aws-requirements.md, Limits). */
export async function managedPoliciesPerRole(aws: AwsAccess, target: string, region: string, role: string, max: number): Promise<Outcome> {
    const iam = await aws.iam(target, region);
    let count = 0;
    try {
        count = (await attachedRolePolicies(iam, role)).length;
    } catch (err) {
        if ((err as Error).name !== "NoSuchEntityException" && (err as Error).name !== "NoSuchEntity") throw err;
        return {
            status: "FAIL",
            message: `Role ${role} (target.keyUserRoleNames) does not exist in ${target}.`,
            fix: "Create the role, or correct target.keyUserRoleNames, then run `pulumi up` on the target stack.",
        };
    }
    const usage = `Role ${role} holds ${count} of ${max} managed policies (target.maxPoliciesPerRole)`;
    if (count >= max)
        return {
            status: "WARN",
            message: `${usage}: full; a further key-use policy (a larger fleet) could not be attached.`,
            fix: 'Raise IAM\'s "Managed policies per role" quota (up to 20) and target.maxPoliciesPerRole, or detach policies the role does not need.',
        };
    return { status: "PASS", message: `${usage}.` };
}

/** INFO: the keys' list price a month, and DRS's own charge for the servers replicating now. */
export function monthlyCost(keys: StagingKeyExport[], replicating: Map<string, number>, prices: PriceTable): Outcome {
    const { keyMonth, rotationMonth, billedRotations } = prices.kms;
    const parts = [
        `${keys.length} staging keys: ${money(keys.length * keyMonth)} to ${money(keys.length * (keyMonth + billedRotations * rotationMonth))} a month as rotations add up (alert topic keys: see the plan's cost)`,
    ];
    const counted = keys.filter((k) => replicating.has(k.keyArn));
    const servers = counted.reduce((t, k) => t + replicating.get(k.keyArn)!, 0);
    const unpriced = unique(counted.filter((k) => drsPriceIn(prices, k.region) === undefined).map((k) => k.region));
    const drs = counted.reduce((t, k) => t + replicating.get(k.keyArn)! * (drsPriceIn(prices, k.region) ?? 0) * hoursPerMonth, 0);
    parts.push(
        unpriced.length > 0
            ? `DRS: ${servers} replicating servers now; no DRS price for ${unpriced.join(", ")} in the table: give it with --prices (drsServerHour)`
            : `DRS: ${servers} replicating servers now, ${money(drs)} a month at ${hoursPerMonth} hours`,
    );
    if (counted.length < keys.length) parts.push(`${keys.length - counted.length} keys' servers could not be counted`);
    return {
        status: "INFO",
        message: `${prices.origin} (plan/pricing.ts): ${parts.join("; ")}. Not included: KMS requests, the staging area's EC2 and EBS.`,
    };
}

export function extendedCapacity(key: StagingKeyExport, servers: SourceServer[]): Outcome {
    const count = servers.length;
    const capacity = quotas.replicatingServers.value;
    const usage = `${count} of ${capacity}`;
    if (count === 0) {
        return {
            status: "WARN",
            message: `No extended source servers from ${key.accountId} in the target yet (${usage}).`,
            fix: "In the target's DRS console, extend the staging account's source servers.",
        };
    }
    if (count >= capacity * nearLimit) {
        return {
            status: "WARN",
            message: `${usage} replicating servers of ${key.accountId} are extended: near the per-account limit.`,
            fix: "Add another staging account for more servers.",
        };
    }
    return { status: "PASS", message: `${usage} servers of ${key.accountId} are extended into the target.` };
}
