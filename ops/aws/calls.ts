// How the commands that write call AWS: an access error becomes an AccessStop naming the
// permission, so a run stops at it rather than fail item after item the same way.
import { failure, isAccessDenied, permissionIn, UnreachableAccount } from "./faults";

/** An access error: the run stops at it rather than fail server after server the same way. */
export class AccessStop extends Error {
    constructor(readonly stop: { accountId: string; action: string; permission: string; message: string }) {
        super(stop.message);
    }
}

const credentialErrors = /^(ExpiredToken(Exception)?|UnrecognizedClientException|InvalidClientTokenId)$/;

/** Calls `body`; turns an access error (or an account with no credentials) into an AccessStop naming the permission. */
export async function calling<T>(accountId: string, action: string, body: () => Promise<T>): Promise<T> {
    try {
        return await body();
    } catch (err) {
        if (err instanceof UnreachableAccount) {
            throw new AccessStop({
                accountId,
                action,
                permission: action,
                message: `${err.message}. Set roleArn for this account in the stack config, or run with its credentials.`,
            });
        }
        if (!isAccessDenied(err) && !credentialErrors.test((err as Error).name ?? "")) throw err;
        const named = permissionIn(err);
        const permission = named ?? action;
        throw new AccessStop({
            accountId,
            action,
            permission,
            message: named
                ? `the credentials for ${accountId} lack ${permission} (${failure(err)})`
                : `the credentials for ${accountId} were refused calling ${action} (${failure(err)})`,
        });
    }
}
