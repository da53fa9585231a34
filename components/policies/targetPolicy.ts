import { parseKeyArn, viaService } from "./aws";
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
    const keysByRegion = groupKeysByRegion(input.keyArns);
    const use = targetKeyUse(input.targetAccess);
    const allKeys = [...keysByRegion.values()].flat();
    const statements: PolicyStatement[] = [
        { Sid: "DescribeDrsKeys", Effect: "Allow", Action: use.direct, Resource: allKeys },
    ];
    for (const [region, keys] of keysByRegion) {
        const throughEc2 = { "kms:ViaService": viaService("ec2", region) };
        statements.push({
            Sid: `UseDrsKeysThroughEc2${sidSuffix(region)}`,
            Effect: "Allow",
            Action: use.throughEc2,
            Resource: keys,
            Condition: { StringEquals: throughEc2 },
        });
        if (use.grantsThroughEc2.length > 0) {
            statements.push({
                Sid: `CreateGrantsForAwsResourcesThroughEc2${sidSuffix(region)}`,
                Effect: "Allow",
                Action: use.grantsThroughEc2,
                Resource: keys,
                Condition: { StringEquals: throughEc2, Bool: { "kms:GrantIsForAWSResource": "true" } },
            });
        }
    }
    const doc: PolicyDocument = { Version: "2012-10-17", Statement: statements };
    const size = managedPolicySize(doc);
    if (size > limits.managedPolicyChars) {
        throw new Error(
            `The target key-use policy for ${allKeys.length} keys needs ${size} characters, over IAM's ` +
                `${limits.managedPolicyChars} for a managed policy. Deploy the target side in several ` +
                `stacks, each reading a part of stagingStacks.`,
        );
    }
    return doc;
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
