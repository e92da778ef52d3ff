namespace LoraLab.Tokenization;

/// Cuts SentencePiece-style text ("▁" for spaces) into chunks that BPE can merge independently, which keeps
/// the merge heap small on long inputs. Sound only when no vocabulary piece has the marker right after another
/// character (true of Llama 2-style vocabularies, trained with split_by_whitespace): then no merge can cross
/// the start of a marker run, and merging chunk by chunk gives the same pieces as merging the whole text.
internal static class SpaceMarkerChunks
{
    public static bool IsSafe(IEnumerable<string> pieces, char marker)
    {
        foreach (var p in pieces)
            for (int i = 1; i < p.Length; i++)
                if (p[i] == marker && p[i - 1] != marker) return false;
        return true;
    }

    /// (start, length) of each chunk: a new chunk begins where a marker follows a non-marker character.
    public static IEnumerable<(int Start, int Length)> Split(string text, char marker)
    {
        int start = 0;
        for (int i = 1; i < text.Length; i++)
        {
            if (text[i] == marker && text[i - 1] != marker)
            {
                yield return (start, i - start);
                start = i;
            }
        }
        if (text.Length > start) yield return (start, text.Length - start);
    }
}
