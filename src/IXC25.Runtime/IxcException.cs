namespace IXC25.Runtime;

/// <summary>
/// An error caused by the user's input (a file, a flag, a checkpoint) rather than by a bug.
/// The message is one line, names the offending thing and says what was expected; the CLI prints
/// it as-is and exits non-zero.
/// </summary>
public class IxcException : Exception
{
    public IxcException(string message) : base(message) { }
    public IxcException(string message, Exception inner) : base(message, inner) { }
}
