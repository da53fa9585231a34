// The live commands' credentials per account: the config's profile (an SSO user's), a role
// assumed from it, and what an unknown profile is told.
import { AssumeRoleCommand, GetCallerIdentityCommand, STSClient } from "@aws-sdk/client-sts";
import { mockClient } from "aws-sdk-client-mock";
import { expect } from "chai";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { run } from "../../cli";
import { UsageError } from "../../config/errors";
import { AssumedRoleAccess, defaultClientOptions, describeAccessFailure } from "../../ops/aws/access";
import { profileInPlay } from "../../ops/aws/profiles";

const staging = "444455556666";
const target = "111122223333";
const region = "us-east-1";
/** Each profile's credentials: its name as the access key, so a call shows which profile made it. */
const fakeProfiles = (asked: string[]) => (profile: string) => async () => {
    asked.push(profile);
    return { accessKeyId: `key-of-${profile}`, secretAccessKey: "s" };
};
/** The account a profile's credentials sign in to: staging-sso to the staging account, target-sso to the target. */
const accountOfKey: Record<string, string> = { "key-of-staging-sso": staging, "key-of-target-sso": target, "key-of-other": "999988887777" };

async function failure(run: () => Promise<unknown>): Promise<Error> {
    try {
        await run();
    } catch (err) {
        return err as Error;
    }
    throw new Error("expected a failure");
}

describe("the live commands' credentials: a profile per account", () => {
    const sts = mockClient(STSClient);
    beforeEach(() => {
        sts.reset();
        // GetCallerIdentity answers with the account of the credentials the calling client has (none: the ambient ones, the target's).
        sts.on(GetCallerIdentityCommand).callsFake(async (_input, getClient) => {
            const credentials = getClient().config.credentials;
            const key = credentials ? (await credentials()).accessKeyId : "ambient";
            return { Account: accountOfKey[key] ?? target };
        });
        sts.on(AssumeRoleCommand).callsFake(async (input, getClient) => {
            const key = (await getClient().config.credentials()).accessKeyId;
            return {
                Credentials: {
                    AccessKeyId: `${input.RoleArn} via ${key}`,
                    SecretAccessKey: "s",
                    SessionToken: "t",
                    Expiration: new Date(),
                },
            };
        });
    });
    after(() => sts.restore());

    it("signs in to an account with its profile, and assumes its roleArn from the profile's credentials", async () => {
        const asked: string[] = [];
        const roles = new Map([
            [staging, `arn:aws:iam::${staging}:role/Deploy`],
            [target, undefined],
        ]);
        const profiles = new Map([
            [staging, "staging-sso"],
            [target, "target-sso"],
        ]);
        const access = new AssumedRoleAccess(roles, "verify", undefined, defaultClientOptions, profiles, fakeProfiles(asked));
        const kms = await access.kms(staging, region);
        expect((await kms.config.credentials()).accessKeyId).to.equal(`arn:aws:iam::${staging}:role/Deploy via key-of-staging-sso`);
        const drs = await access.drs(target, region);
        expect((await drs.config.credentials()).accessKeyId).to.equal("key-of-target-sso");
        expect([...new Set(asked)].sort()).to.deep.equal(["staging-sso", "target-sso"]);
        // Every account has its profile: the up-front check asks each profile, not the ambient credentials.
        expect((await access.check([region])).map((c) => c.account).sort()).to.deep.equal([target, staging].sort());
    });

    it("refuses a profile that signs in to another account, naming both and the config's key", async () => {
        const access = new AssumedRoleAccess(
            new Map([[staging, undefined]]),
            "verify",
            undefined,
            defaultClientOptions,
            new Map([[staging, "other"]]),
            fakeProfiles([]),
        );
        const err = await failure(() => access.kms(staging, region));
        expect([err.message, (err as { fix?: string }).fix]).to.deep.equal([
            `cannot reach account ${staging}: the profile other signs in to account 999988887777, not ${staging}`,
            `Name a profile of account ${staging} in stagingAccounts[].profile or target.profile, or give a roleArn to assume from it.`,
        ]);
    });
});

describe("the live commands' credentials: a profile that is not in the AWS config", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "drs-aws-config-"));
    const env = {
        AWS_CONFIG_FILE: path.join(dir, "config"),
        AWS_SHARED_CREDENTIALS_FILE: path.join(dir, "credentials"),
    };
    fs.writeFileSync(
        env.AWS_CONFIG_FILE,
        "[default]\nregion = us-east-1\n[profile dev]\nregion = us-west-2\n[profile prod-sso]\nsso_session = corp\n[sso-session corp]\nsso_region = us-east-1\n",
    );
    fs.writeFileSync(env.AWS_SHARED_CREDENTIALS_FILE, "[ci]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = x\n");
    const noCredentials = Object.assign(new Error("Could not load credentials from any providers"), { name: "CredentialsProviderError" });
    const said = "(CredentialsProviderError: Could not load credentials from any providers)";
    const files = `${env.AWS_CONFIG_FILE} or ${env.AWS_SHARED_CREDENTIALS_FILE}`;

    it("says AWS_PROFILE names a profile that is not in the files, and lists the ones that are (it said: set AWS_PROFILE)", async () => {
        const inPlay = await profileInPlay(undefined, undefined, { ...env, AWS_PROFILE: "nosuch" });
        expect(describeAccessFailure(noCredentials, region, inPlay)).to.equal(
            `The profile "nosuch" (AWS_PROFILE) is not in ${files}, whose profiles are ci, default, dev, prod-sso: ` +
                `set AWS_PROFILE to one of them, or add it (aws configure sso --profile nosuch), and run again. ${said}`,
        );
        // A profile that is there but gives nothing (an SSO session signed out): sign in with it.
        const there = await profileInPlay(undefined, undefined, { ...env, AWS_PROFILE: "prod-sso" });
        expect(describeAccessFailure(noCredentials, region, there)).to.match(
            /^The profile "prod-sso" \(AWS_PROFILE\) gave no credentials: sign in with it \(aws sso login --profile prod-sso\)/,
        );
        // The config's profile for an account is named by its key; without AWS_PROFILE or a profile, the message is as it was.
        const configured = await profileInPlay("staging", "stagingAccounts[].profile or target.profile", env);
        expect(describeAccessFailure(noCredentials, region, configured)).to.include(
            `The profile "staging" (stagingAccounts[].profile or target.profile) is not in ${files}`,
        );
        expect(await profileInPlay(undefined, undefined, env)).to.equal(undefined);
        expect(describeAccessFailure(noCredentials, region)).to.match(/^No AWS credentials found/);
    });

    it("says when neither file can be read", async () => {
        const none = { AWS_CONFIG_FILE: path.join(dir, "none"), AWS_SHARED_CREDENTIALS_FILE: path.join(dir, "none2"), AWS_PROFILE: "dev" };
        expect(describeAccessFailure(noCredentials, region, await profileInPlay(undefined, undefined, none))).to.match(
            /^The profile "dev" \(AWS_PROFILE\) is not in .*none or .*none2: neither can be read\. Create it \(aws configure sso --profile dev\), or unset AWS_PROFILE to use other credentials, and run again\./,
        );
    });
});

describe("the live commands' credentials: the profiles of the stack config", () => {
    it("reach the commands' AWS access, per account, beside the roles", async () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "drs-profiles-"));
        fs.copyFileSync(path.join(__dirname, "..", "..", "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
        fs.writeFileSync(
            path.join(dir, "Pulumi.sso.yaml"),
            [
                "config:",
                "  drs-cross-account-kms:deploy: staging",
                "  drs-cross-account-kms:target:",
                `    accountId: "${target}"`,
                "    profile: target-sso",
                "  drs-cross-account-kms:stagingAccounts:",
                `    - accountId: "${staging}"`,
                "      region: us-east-1",
                "      profile: staging-sso",
                `      roleArn: arn:aws:iam::${staging}:role/Deploy`,
                "",
            ].join("\n"),
        );
        const seen: unknown[] = [];
        let err = "";
        const code = await run(
            ["verify", "-s", "sso", "--outputs", path.join(__dirname, "..", "golden", "inputs", "verify-outputs.json")],
            {
                workspace: null,
                projectDir: dir,
                io: { out: () => undefined, err: (t) => void (err += t) },
                access: (roleArns, _command, _options, profiles) => {
                    seen.push([...roleArns], [...(profiles ?? [])]);
                    throw new UsageError("stop here");
                },
            },
        );
        expect([code, err.split("\n").at(-2)]).to.deep.equal([2, "error: stop here"]);
        expect(seen).to.deep.equal([
            [
                [target, undefined],
                [staging, `arn:aws:iam::${staging}:role/Deploy`],
            ],
            [
                [target, "target-sso"],
                [staging, "staging-sso"],
            ],
        ]);
    });
});
