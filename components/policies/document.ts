// IAM and KMS policy documents as plain data: no Pulumi types, so builders are pure and testable.

export type ConditionBlock = Record<string, Record<string, string | string[]>>;

export interface PolicyStatement {
    Sid: string;
    Effect: "Allow" | "Deny";
    Principal?: { AWS: string | string[] } | { Service: string | string[] };
    Action: string | string[];
    /** Omitted in role trust policies, where IAM prohibits it. */
    Resource?: string | string[];
    Condition?: ConditionBlock;
}

export interface PolicyDocument {
    Version: "2012-10-17";
    Id?: string;
    Statement: PolicyStatement[];
}

/** AWS size limits that bound the design (docs/aws-facts.md, Limits). */
export const limits = {
    /** A KMS key policy, in bytes. */
    keyPolicyBytes: 32_768,
    /** A customer managed IAM policy, in characters, whitespace excluded. */
    managedPolicyChars: 6_144,
    /** Managed policies attached to one role (the default quota). */
    managedPoliciesPerRole: 10,
} as const;

/** The size AWS counts for a managed policy: its JSON without whitespace. */
export function managedPolicySize(doc: PolicyDocument): number {
    return JSON.stringify(doc).length;
}

/** The size AWS counts for a key policy: bytes of the JSON as sent. */
export function keyPolicySize(doc: PolicyDocument): number {
    return Buffer.byteLength(JSON.stringify(doc), "utf8");
}
