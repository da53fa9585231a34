import { parseKeyArn, partitionOf, viaService } from "./aws";
import { PolicyDocument, PolicyStatement, limits, managedPolicySize } from "./document";
import { TargetAccess, targetKeyUse } from "./keyPolicy";

export interface TargetKeyUsePolicyInput {
    /** Exact ARNs of the staging keys (never a wildcard); their Regions come from the ARNs. */
    keyArns: string[];
    targetAccess: TargetAccess;
}

/**
 * The target account's IAM policy: exactly the KMS actions the key policies grant the
 * target, on the exact keys, each used only through EC2 in that key's own Region.
 * Cross-account use needs both this and the key policy.
 */
export function buildTargetKeyUsePolicy(input: TargetKeyUsePolicyInput): PolicyDocument {
    const doc = targetKeyUseDocument(input);
    const size = managedPolicySize(doc);
    if (size > limits.managedPolicyChars) {
        throw new Error(
            `The target key-use policy for ${input.keyArns.length} keys needs ${size} characters, over IAM's ` +
                `${limits.managedPolicyChars} for a managed policy; split the keys with planTargetKeyUsePolicies.`,
        );
    }
    return doc;
}

function targetKeyUseDocument(input: TargetKeyUsePolicyInput): PolicyDocument {
    const keysByRegion = groupKeysByRegion(input.keyArns);
    const use = targetKeyUse(input.targetAccess);
    const allKeys = [...keysByRegion.values()].flat();
    const statements: PolicyStatement[] = [{ Sid: "DescribeDrsKeys", Effect: "Allow", Action: use.direct, Resource: allKeys }];
    for (const [region, keys] of keysByRegion) {
        // One statement per Region, so each key ARN appears twice at most (this is what lets a
        // fleet fit IAM's size limit). CreateGrant carries kms:GrantIsForAWSResource, which must
        // then be true; the other actions never carry it, so BoolIfExists leaves them alone.
        const grants = use.grantsThroughEc2.length > 0;
        statements.push({
            Sid: `UseDrsKeysThroughEc2${sidSuffix(region)}`,
            Effect: "Allow",
            Action: [...use.throughEc2, ...use.grantsThroughEc2],
            Resource: keys,
            Condition: {
                StringEquals: { "kms:ViaService": viaService("ec2", region) },
                ...(grants ? { BoolIfExists: { "kms:GrantIsForAWSResource": "true" } } : {}),
            },
        });
    }
    return { Version: "2012-10-17", Statement: statements };
}

/** A key as far as sizing goes: its ARN's length depends only on its Region and account. */
export interface KeyPlacement {
    accountId: string;
    region: string;
}

export interface TargetPolicyPlanInput {
    keys: KeyPlacement[];
    targetAccess: TargetAccess;
    /** Managed policies one role may have attached (IAM's default quota is 10; it can be raised to 20). */
    maxPolicies?: number;
}

/**
 * Splits the keys over as few managed policies as IAM's size limit allows, before their ARNs
 * are known (a key ID always has 36 characters). Returns, per policy, indexes into `keys`, in
 * a stable order (Region, then account). Throws with the numbers when more policies are needed
 * than one role may hold.
 */
export function planTargetKeyUsePolicies(input: TargetPolicyPlanInput): number[][] {
    const maxPolicies = input.maxPolicies ?? limits.managedPoliciesPerRole;
    if (input.keys.length === 0) throw new Error("The target key-use policy needs at least one key.");
    const order = input.keys
        .map((key, index) => ({ key, index }))
        .sort((a, b) => a.key.region.localeCompare(b.key.region) || a.key.accountId.localeCompare(b.key.accountId) || a.index - b.index);
    const chunks: number[][] = [];
    let current: { index: number; arn: string }[] = [];
    for (const { key, index } of order) {
        const candidate = [...current, { index, arn: placeholderKeyArn(key, index) }];
        const size = managedPolicySize(targetKeyUseDocument({ keyArns: candidate.map((k) => k.arn), targetAccess: input.targetAccess }));
        if (size > limits.managedPolicyChars && current.length > 0) {
            chunks.push(current.map((k) => k.index));
            current = [{ index, arn: placeholderKeyArn(key, index) }];
        } else {
            current = candidate;
        }
    }
    chunks.push(current.map((k) => k.index));
    if (chunks.length > maxPolicies) {
        const perPolicy = Math.floor(input.keys.length / chunks.length);
        throw new Error(
            `${input.keys.length} keys need ${chunks.length} target key-use policies of at most ${limits.managedPolicyChars} ` +
                `characters (about ${perPolicy} keys each), but a role may hold ${maxPolicies} managed policies. Raise the ` +
                `IAM quota "Managed policies per role" (up to 20) and set target.maxPoliciesPerRole, or deploy the target ` +
                `side in several stacks, each attaching its policies to other roles.`,
        );
    }
    return chunks;
}

/**
 * The names of a split key-use policy: `name`, `name-2`, `name-3`, ... Fixed names are what lets a
 * permission set reference the policies, which must then exist under these names in the account.
 */
export function targetKeyUsePolicyNames(name: string, count: number): string[] {
    return Array.from({ length: count }, (_, i) => (i === 0 ? name : `${name}-${i + 1}`));
}

/** A stand-in with the exact length of the key's real ARN, unique per key. */
function placeholderKeyArn(key: KeyPlacement, index: number): string {
    const id = index.toString(16).padStart(12, "0");
    return `arn:${partitionOf(key.region)}:kms:${key.region}:${key.accountId}:key/00000000-0000-0000-0000-${id}`;
}

/** Keys grouped by Region, both in a stable (sorted) order so the policy text does not churn. */
function groupKeysByRegion(keyArns: string[]): Map<string, string[]> {
    if (keyArns.length === 0) throw new Error("The target key-use policy needs at least one key ARN.");
    const byRegion = new Map<string, string[]>();
    for (const arn of [...new Set(keyArns)].sort()) {
        const key = parseKeyArn(arn);
        if (!key) throw new Error(`"${arn}" is not a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>).`);
        byRegion.set(key.region, [...(byRegion.get(key.region) ?? []), arn]);
    }
    return new Map([...byRegion].sort(([a], [b]) => a.localeCompare(b)));
}

/** "us-east-1" -> "UsEast1": IAM statement IDs are alphanumeric. */
function sidSuffix(region: string): string {
    return region
        .split("-")
        .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
        .join("");
}
