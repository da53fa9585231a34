// The profiles of the AWS config and credentials files, for messages about a profile that gives no
// credentials: AWS_PROFILE, or a stagingAccounts[].profile / target.profile of the stack config.
// Read as the SDK reads them (@smithy/shared-ini-file-loader: AWS_CONFIG_FILE,
// AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/config and ~/.aws/credentials).
import * as fs from "fs";
import * as path from "path";
import { getHomeDir, loadSharedConfigFiles } from "@smithy/shared-ini-file-loader";

/** A profile the credentials were to come from, where it was named, and what the files hold. */
export interface ProfileInPlay {
    name: string;
    /** Where it is named: `AWS_PROFILE`, or the stack config's key. */
    namedBy: string;
    /** The two files, as a message names them. */
    files: string;
    /** The profiles of the files, or undefined when neither can be read. */
    known?: string[];
}

/** The profile in play (the config's for the account, else AWS_PROFILE), or undefined when there is none. */
export async function profileInPlay(profile?: string, namedBy = "the stack config", env = process.env): Promise<ProfileInPlay | undefined> {
    const name = profile ?? env.AWS_PROFILE;
    if (!name) return undefined;
    const home = getHomeDir();
    const shown = (file: string) => (file.startsWith(`${home}${path.sep}`) ? `~${file.slice(home.length)}` : file);
    const configFile = env.AWS_CONFIG_FILE ?? path.join(home, ".aws", "config");
    const credentialsFile = env.AWS_SHARED_CREDENTIALS_FILE ?? path.join(home, ".aws", "credentials");
    const readable = [configFile, credentialsFile].some((file) => fs.existsSync(file));
    let known: string[] | undefined;
    if (readable) {
        const files = await loadSharedConfigFiles({ filepath: credentialsFile, configFilepath: configFile, ignoreCache: true });
        // The config's other sections (sso-session.<name>, services.<name>) are not profiles.
        const profiles = [...Object.keys(files.configFile), ...Object.keys(files.credentialsFile)].filter(
            (key) => !/^(sso-session|services)\./.test(key),
        );
        known = [...new Set(profiles)].sort();
    }
    return { name, namedBy: profile ? namedBy : "AWS_PROFILE", files: `${shown(configFile)} or ${shown(credentialsFile)}`, known };
}

/** What to say of a profile that gave no credentials: not in the files (and which are), or in them but not signed in. */
export function profileProblem(p: ProfileInPlay, said: string): string {
    const fix = p.namedBy === "AWS_PROFILE" ? "set AWS_PROFILE to one of them" : `set ${p.namedBy} to one of them`;
    if (p.known === undefined)
        return `The profile "${p.name}" (${p.namedBy}) is not in ${p.files}: neither can be read. Create it (aws configure sso --profile ${p.name})${p.namedBy === "AWS_PROFILE" ? ", or unset AWS_PROFILE to use other credentials" : ""}, and run again. (${said})`;
    if (!p.known.includes(p.name))
        return `The profile "${p.name}" (${p.namedBy}) is not in ${p.files}, whose profiles are ${p.known.length > 0 ? p.known.join(", ") : "none"}: ${fix}, or add it (aws configure sso --profile ${p.name}), and run again. (${said})`;
    return `The profile "${p.name}" (${p.namedBy}) gave no credentials: sign in with it (aws sso login --profile ${p.name}), or check its settings in ${p.files}, and run again. (${said})`;
}
