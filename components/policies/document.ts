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

/** AWS size limits that bound the design (docs/aws-requirements.md, Limits). */
export const limits = {
    /** A KMS key policy, in bytes. */
    keyPolicyBytes: 32_768,
    /** A customer managed IAM policy, in characters, whitespace excluded. */
    managedPolicyChars: 6_144,
    /** Managed policies attached to one role (the default quota). */
    managedPoliciesPerRole: 10,
    /** A tag's value, in characters. */
    tagValueChars: 256,
} as const;

/** The size AWS counts for a managed policy: its JSON without whitespace. */
export function managedPolicySize(doc: PolicyDocument): number {
    return JSON.stringify(doc).length;
}

/** The size AWS counts for a key policy: bytes of the JSON as sent. */
export function keyPolicySize(doc: PolicyDocument): number {
    return Buffer.byteLength(JSON.stringify(doc), "utf8");
}

/** A policy document given as JSON text or as an object; undefined when it is neither. */
export function parsePolicyDocument(value: unknown): PolicyDocument | undefined {
    if (typeof value === "string") {
        try {
            return JSON.parse(value) as PolicyDocument;
        } catch {
            return undefined;
        }
    }
    return value && typeof value === "object" ? (value as PolicyDocument) : undefined;
}

/** A string-or-list policy field as a list. */
export const listOf = (value: string | string[] | undefined): string[] => (value === undefined ? [] : [value].flat());

export function allowStatements(doc: PolicyDocument | undefined): PolicyStatement[] {
    return (doc?.Statement ?? []).filter((s) => s.Effect === "Allow");
}

/** The AWS principals a statement names ("*" for everyone). */
export function awsPrincipals(statement: PolicyStatement): string[] {
    const principal = statement.Principal as unknown;
    if (principal === "*") return ["*"];
    return principal && typeof principal === "object" && "AWS" in principal ? listOf((principal as { AWS: string | string[] }).AWS) : [];
}

/** Whether a statement's actions include `action`, wildcards in the statement considered. */
export function grantsAction(statement: PolicyStatement, action: string): boolean {
    return listOf(statement.Action).some((a) =>
        new RegExp(`^${a.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`, "i").test(action),
    );
}
