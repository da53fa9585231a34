// Existing keys and multi-Region key families, decided as plain data (docs/aws-requirements.md,
// "Multi-Region keys and adopting keys"): which keys are adopted, which stay as they are, and
// which new key is a multi-Region primary or a replica of one.
import { parseKeyArn } from "./aws";

/** What KMS says of an existing key (DescribeKey), as far as adopting it or building on it goes. */
export interface ExistingKey {
    arn: string;
    keyId: string;
    /** CUSTOMER, or AWS for an AWS managed key such as aws/ebs. */
    keyManager: string;
    keySpec: string;
    keyUsage: string;
    /** Enabled, Disabled, PendingDeletion, PendingReplicaDeletion, ... */
    keyState: string;
    /** AWS_KMS, EXTERNAL (imported material), AWS_CLOUDHSM or EXTERNAL_KEY_STORE. */
    origin: string;
    multiRegion: boolean;
    /** PRIMARY or REPLICA, for a multi-Region key. */
    multiRegionKeyType?: string;
    /** The family's primary, for a multi-Region key. */
    primaryArn?: string;
}

export type KeyKind = "single-Region" | "primary" | "replica";

export interface KeyEntry {
    accountId: string;
    region: string;
    /** The key the entry adopts (importKeyId), as KMS describes it. */
    adopted?: ExistingKey;
    /** The key the entry's alias already points to, when the entry adopts nothing (the stack's own key of an earlier run). */
    existing?: ExistingKey;
}

export interface PlannedKey {
    kind: KeyKind;
    /** A replica's primary, when that primary already exists. */
    primaryArn?: string;
    /** A replica's primary, when it is the new key of another entry (its index). */
    primaryEntry?: number;
}

export interface KeyPlan {
    keys: PlannedKey[];
    /** Per entry index: why the entry cannot be built. */
    problems: { entry: number; message: string }[];
    /** What a user should know: keys that stay as they are although the config asks for multi-Region keys. */
    notes: string[];
}

export interface KeyPlanOptions {
    /** Make new keys multi-Region: a primary per staging account, replicas in its other Regions. */
    multiRegion: boolean;
    /** Where a new family's primary goes, for accounts with an entry there. */
    primaryRegion?: string;
}

/** An adopted key must be a symmetric encryption key of the customer's, usable, in the entry's account and Region. */
export function adoptionProblems(entry: Pick<KeyEntry, "accountId" | "region">, key: ExistingKey): string[] {
    const problems: string[] = [];
    const where = parseKeyArn(key.arn);
    if (where && (where.accountId !== entry.accountId || where.region !== entry.region)) {
        problems.push(`is in ${where.accountId}/${where.region}, not this entry's ${entry.accountId}/${entry.region}`);
    }
    if (key.keyManager !== "CUSTOMER") {
        problems.push(
            "is an AWS managed key: its policy cannot be changed and snapshots under it can never be shared with another account. Adopt a customer managed key, or let the program create one",
        );
    }
    if (key.keySpec !== "SYMMETRIC_DEFAULT" || key.keyUsage !== "ENCRYPT_DECRYPT") {
        problems.push(
            `is a ${key.keySpec} ${key.keyUsage} key: EBS encrypts only with symmetric encryption keys (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT)`,
        );
    }
    if (key.origin !== "AWS_KMS") {
        problems.push(`has key material of origin ${key.origin}: the program adopts keys whose material KMS generated (AWS_KMS) only`);
    }
    if (key.keyState === "PendingDeletion" || key.keyState === "PendingReplicaDeletion") {
        problems.push(`is ${key.keyState}: cancel the deletion first (aws kms cancel-key-deletion), then adopt it`);
    }
    return problems;
}

export function kindOf(key: ExistingKey): KeyKind {
    if (!key.multiRegion) return "single-Region";
    return key.multiRegionKeyType === "REPLICA" ? "replica" : "primary";
}

/**
 * Decides each entry's key. Existing keys (adopted, or found behind the entry's alias) keep what
 * KMS says they are: KMS cannot make a single-Region key multi-Region, nor change a replica into a
 * primary. New keys follow `multiRegion`: per account, the replicas of an existing family's primary,
 * or else a new primary in `primaryRegion` (when the account has a new key there) or in the first of
 * its new keys' Regions by name, never by the order of the entries.
 */
export function planKeys(entries: KeyEntry[], options: KeyPlanOptions): KeyPlan {
    const keys: PlannedKey[] = entries.map(() => ({ kind: "single-Region" }));
    const problems: KeyPlan["problems"] = [];
    const notes: string[] = [];
    const byAccount = new Map<string, number[]>();
    entries.forEach((e, i) => byAccount.set(e.accountId, [...(byAccount.get(e.accountId) ?? []), i]));

    for (const [accountId, indexes] of byAccount) {
        const known = indexes.filter((i) => entries[i].adopted ?? entries[i].existing);
        for (const i of known) {
            const key = (entries[i].adopted ?? entries[i].existing)!;
            const kind = kindOf(key);
            keys[i] = kind === "replica" ? { kind, primaryArn: key.primaryArn } : { kind };
        }
        // The multi-Region families the account's existing keys belong to, by their primary's ARN.
        const families = [
            ...new Set(
                known.flatMap((i) => {
                    const key = (entries[i].adopted ?? entries[i].existing)!;
                    return key.multiRegion ? [key.primaryArn ?? key.arn] : [];
                }),
            ),
        ].sort();
        const fresh = indexes.filter((i) => !known.includes(i));
        if (!options.multiRegion) continue;

        const singles = known.filter((i) => keys[i].kind === "single-Region");
        if (singles.length > 0) {
            notes.push(
                `key.multiRegion applies to keys not yet created: ${singles
                    .map((i) => `${accountId}/${entries[i].region}`)
                    .join(
                        ", ",
                    )} ${singles.length === 1 ? "keeps its" : "keep their"} single-Region key (KMS cannot make an existing key multi-Region).`,
            );
        }
        const primaryHere = options.primaryRegion ? indexes.find((i) => entries[i].region === options.primaryRegion) : undefined;
        if (primaryHere !== undefined && known.includes(primaryHere) && keys[primaryHere].kind !== "primary") {
            problems.push({
                entry: primaryHere,
                message: `key.primaryRegion asks for the multi-Region primary in ${options.primaryRegion}, but ${accountId}'s key there is ${keys[primaryHere].kind === "replica" ? "a replica" : "single-Region"}, which KMS cannot make a primary. Remove key.primaryRegion, or name the Region of the existing primary.`,
            });
            continue;
        }
        if (fresh.length === 0) continue;
        if (families.length > 1) {
            problems.push({
                entry: fresh[0],
                message: `${accountId} has keys of ${families.length} multi-Region families (primaries ${families.join(", ")}): a new replica would not know which to follow. Adopt keys of one family, or set key.multiRegion: false.`,
            });
            continue;
        }
        if (families.length === 1) {
            for (const i of fresh) keys[i] = { kind: "replica", primaryArn: families[0] };
            if (primaryHere !== undefined && fresh.includes(primaryHere)) {
                notes.push(
                    `${accountId}/${options.primaryRegion} gets a replica of the existing primary ${families[0]}, not a new primary: an account has one multi-Region family.`,
                );
            }
            continue;
        }
        const primary =
            primaryHere !== undefined && fresh.includes(primaryHere)
                ? primaryHere
                : [...fresh].sort((a, b) => entries[a].region.localeCompare(entries[b].region))[0];
        keys[primary] = { kind: "primary" };
        for (const i of fresh) if (i !== primary) keys[i] = { kind: "replica", primaryEntry: primary };
    }
    return { keys, problems, notes };
}
