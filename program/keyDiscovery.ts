import * as aws from "@pulumi/aws";
import { ExistingKey, KeyPlan, adoptionProblems, planKeys } from "../components/policies";

/** What the provider answers for something that does not exist (a gRPC error's details carry it). */
const notFound = /NotFoundException|not found|couldn't find|does not exist/i;

function messageOf(err: unknown): string {
    return err instanceof Error ? err.message : String(err);
}

/**
 * An existing key as KMS describes it (key ID, mrk- ID, key ARN or alias ARN), or undefined when
 * there is none. Read at preview with the account's provider, in the key's Region.
 */
export async function describeKey(keyId: string, region: string, provider: aws.Provider): Promise<ExistingKey | undefined> {
    try {
        const key = await aws.kms.getKey({ keyId, region }, { provider });
        const multiRegion = key.multiRegionConfigurations?.[0];
        return {
            arn: key.arn,
            keyId: key.id,
            keyManager: key.keyManager,
            keySpec: key.keySpec || key.customerMasterKeySpec,
            keyUsage: key.keyUsage,
            keyState: key.keyState,
            origin: key.origin,
            multiRegion: key.multiRegion,
            multiRegionKeyType: multiRegion?.multiRegionKeyType,
            primaryArn: multiRegion?.primaryKeys?.[0]?.arn,
        };
    } catch (err) {
        if (notFound.test(messageOf(err))) return undefined;
        throw err;
    }
}

/** The key an alias points to (its ARN), or undefined when the alias does not exist. */
export async function aliasTarget(aliasName: string, region: string, provider: aws.Provider): Promise<string | undefined> {
    try {
        return (await aws.kms.getAlias({ name: aliasName, region }, { provider })).targetKeyArn;
    } catch (err) {
        if (notFound.test(messageOf(err))) return undefined;
        throw err;
    }
}

/** An entry's key, as the lookups need it. */
export interface KeyLookup {
    accountId: string;
    region: string;
    /** The key the entry adopts, if any. */
    importKeyId?: string;
    /** The account's provider. */
    provider: aws.Provider;
}

export interface KeyLookupOptions {
    /** The alias every key gets: an existing one is adopted with an adopted key, and tells an existing key's kind. */
    alias: string;
    multiRegion: boolean;
    primaryRegion?: string;
}

export interface DiscoveredKeys {
    plan: KeyPlan;
    /** Per entry: the adopted key, as KMS describes it. */
    adopted: (ExistingKey | undefined)[];
    /** Per entry: the alias exists already (it is adopted with an adopted key). */
    aliasExists: boolean[];
    /** Per entry index: why it cannot be built. */
    problems: { entry: number; message: string }[];
    notes: string[];
}

/**
 * Reads, at preview, what exists of the entries' keys: the keys they adopt, and (for multi-Region
 * keys, and adopted ones) the key each entry's alias points to. Entries that adopt nothing in a
 * single-Region stack need no lookup. Then plans each entry's key (planKeys).
 */
export async function discoverKeys(entries: KeyLookup[], options: KeyLookupOptions): Promise<DiscoveredKeys> {
    const looked = await Promise.all(
        entries.map(async (entry) => {
            if (entry.importKeyId === undefined && !options.multiRegion)
                return { aliasArn: undefined, adopted: undefined, existing: undefined };
            const aliasArn = await aliasTarget(options.alias, entry.region, entry.provider);
            const adopted =
                entry.importKeyId === undefined ? undefined : await describeKey(entry.importKeyId, entry.region, entry.provider);
            const existing =
                entry.importKeyId === undefined && aliasArn ? await describeKey(aliasArn, entry.region, entry.provider) : undefined;
            return { aliasArn, adopted, existing };
        }),
    );
    const problems: DiscoveredKeys["problems"] = [];
    const notes: string[] = [];
    looked.forEach(({ aliasArn, adopted }, i) => {
        const { accountId, region, importKeyId } = entries[i];
        if (importKeyId === undefined) return;
        if (!adopted) {
            problems.push({
                entry: i,
                message: `${importKeyId} does not exist in ${accountId}/${region} (or the deploying role may not describe it).`,
            });
            return;
        }
        for (const problem of adoptionProblems(entries[i], adopted)) problems.push({ entry: i, message: `${importKeyId} ${problem}.` });
        if (adopted.keyState === "Disabled")
            notes.push(`${adopted.arn} is Disabled: adopting it enables it, as DRS cannot use a disabled key.`);
        if (aliasArn && aliasArn !== adopted.arn) {
            notes.push(
                `${options.alias} in ${accountId}/${region} points to ${aliasArn}: adopting it with ${adopted.arn} points it at the adopted key.`,
            );
        }
    });
    const plan = planKeys(
        entries.map((e, i) => ({ accountId: e.accountId, region: e.region, adopted: looked[i].adopted, existing: looked[i].existing })),
        options,
    );
    return {
        plan,
        adopted: looked.map((l) => l.adopted),
        aliasExists: looked.map((l) => l.aliasArn !== undefined),
        problems: [...problems, ...plan.problems],
        notes: [...notes, ...plan.notes],
    };
}
