// The target side's checks: that it can describe the staging key but not decrypt with it
// directly (only through EC2), and its EBS encryption by default.
import { GetEbsDefaultKmsKeyIdCommand, GetEbsEncryptionByDefaultCommand } from "@aws-sdk/client-ec2";
import { DecryptCommand, DescribeKeyCommand } from "@aws-sdk/client-kms";
import { parseKeyArn } from "../../../components/policies";
import { StagingKeyExport } from "../../../program/contract";
import { AwsAccess } from "../../aws/access";
import { MalformedAnswer, isAccessDenied } from "../../aws/faults";
import { symptoms } from "../outcomes";
import { Outcome } from "../types";

export async function targetDescribeKey(aws: AwsAccess, key: StagingKeyExport, target: string): Promise<Outcome> {
    const kms = await aws.kms(target, key.region);
    try {
        await kms.send(new DescribeKeyCommand({ KeyId: key.keyArn }));
        return { status: "PASS", message: `The target account can describe ${key.keyArn}.` };
    } catch (err) {
        if (!isAccessDenied(err)) throw err;
        return {
            status: "FAIL",
            message: `The target's credentials may not describe the key: ${(err as Error).message}`,
            fix: `Check the key policy (AllowTargetAccountDescribeKey) and that the role has the key-use policy (run the target stack); ${symptoms.accessDenied}.`,
        };
    }
}

export async function targetDirectDecrypt(aws: AwsAccess, key: StagingKeyExport, target: string): Promise<Outcome> {
    const kms = await aws.kms(target, key.region);
    try {
        // Not real ciphertext: KMS checks permission before it reads the blob.
        await kms.send(new DecryptCommand({ KeyId: key.keyArn, CiphertextBlob: Buffer.from("drs-cross-account-kms verify") }));
        return {
            status: "FAIL",
            message: "A direct Decrypt from the target succeeded; it must be denied.",
            fix: "Run `pulumi up` on both stacks.",
        };
    } catch (err) {
        const name = (err as Error).name;
        if (isAccessDenied(err)) {
            return {
                status: "PASS",
                message:
                    "A direct Decrypt is denied (AccessDeniedException), as it should be: the target uses the key only through EC2. " +
                    "The guide's check expected InvalidCiphertextException; with least privilege, AccessDenied is the right answer here.",
            };
        }
        if (name === "InvalidCiphertextException" || name === "IncorrectKeyException") {
            return {
                status: "FAIL",
                message:
                    "A direct Decrypt from the target was authorised (KMS only rejected the test ciphertext): the key is usable outside EC2.",
                fix: "Run `pulumi up` on both stacks; remove any other policy granting kms:Decrypt on this key.",
            };
        }
        throw err;
    }
}

/**
 * EBS encryption by default in the target, and its key: volumes EC2 creates there (outside DRS's own
 * settings, which decide the recovered volumes' key) use it, so it should be a key of the target's own.
 */
export async function targetEbsEncryption(aws: AwsAccess, target: string, region: string, keys: StagingKeyExport[]): Promise<Outcome> {
    const ec2 = await aws.ec2(target, region);
    const { EbsEncryptionByDefault: on } = await ec2.send(new GetEbsEncryptionByDefaultCommand({}));
    if (typeof on !== "boolean") throw new MalformedAnswer("ec2:GetEbsEncryptionByDefault", "no EbsEncryptionByDefault");
    const where = `${target}/${region}`;
    const cli = (command: string) => `aws ec2 ${command} --region ${region}`;
    if (!on)
        return {
            status: "WARN",
            message: `EBS encryption by default is off in ${where}: volumes created there outside DRS's settings (a restored or re-encrypted recovered volume) are unencrypted unless asked.`,
            fix: `In the target: ${cli("enable-ebs-encryption-by-default")}, and ${cli("modify-ebs-default-kms-key-id --kms-key-id <a key of the target>")}.`,
        };
    const { KmsKeyId: keyId } = await ec2.send(new GetEbsDefaultKmsKeyIdCommand({}));
    const owner = keyId ? parseKeyArn(keyId)?.accountId : undefined;
    const staging = keys.find((k) => k.keyArn === keyId);
    if (staging || (owner && owner !== target))
        return {
            status: "WARN",
            message:
                `EBS encryption by default is on in ${where}, with ${keyId}, a key of ${staging ? `the staging account ${staging.accountId}` : `account ${owner}`}: ` +
                "every volume created there by default depends on that account's key, which may be lost with it in a disaster.",
            fix: `Make a key of the target the default: ${cli("modify-ebs-default-kms-key-id --kms-key-id <a key of the target>")}.`,
        };
    return {
        status: "PASS",
        message: `EBS encryption by default is on in ${where}, with ${keyId && /alias\/aws\/ebs$/.test(keyId) ? "the target's AWS managed key aws/ebs" : `the target's key ${keyId ?? "(AWS managed aws/ebs)"}`}.`,
    };
}
