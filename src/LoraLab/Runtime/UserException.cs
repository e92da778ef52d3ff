namespace LoraLab;

/// An error caused by the user's input (a path, a file, a flag). The CLI prints its message on one line,
/// without a stack trace, and exits with code 2.
public class UserException : Exception
{
    public UserException(string message) : base(message) { }
    public UserException(string message, Exception inner) : base(message, inner) { }
}
