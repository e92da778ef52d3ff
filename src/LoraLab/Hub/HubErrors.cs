namespace LoraLab.Hub;

/// The Hub could not be reached (no network, DNS, refused), or kept failing (5xx, timeouts) through the retries: one
/// line for the user, and the case in which a complete cached snapshot may stand in.
public sealed class HubUnreachableException(string message, Exception? inner = null) : UserException(message, inner ?? new Exception(message));

/// The Hub has no such repo or revision (HTTP 404, or 401 without a token): a value meant as a local folder often
/// ends here, so the caller says both. `Revision`: the repo is there, the revision is not.
public sealed class HubRepoNotFoundException(string message, bool revision = false) : UserException(message)
{
    public bool Revision { get; } = revision;
}

/// The repo is gated or private and the token (or its absence) does not open it (401/403).
public sealed class HubAccessDeniedException(string message) : UserException(message);

/// The server a file's link points at (the CDN) refused it: a signed link that expired, not a missing token.
public sealed class HubLocationRefusedException(string message) : UserException(message);
