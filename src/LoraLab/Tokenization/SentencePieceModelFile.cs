using Google.Protobuf;

namespace LoraLab.Tokenization;

/// SentencePiece piece kinds, as numbered in sentencepiece_model.proto.
internal enum PieceType { Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6 }

/// The parts of a SentencePiece `tokenizer.model` that Microsoft.ML.Tokenizers does not expose: every piece's
/// score and type (the BPE merge order), the model type and the pad id. Read straight off the protobuf wire
/// format with Google.Protobuf, which the tokenizer library already depends on.
internal sealed class SentencePieceModelFile
{
    public required string[] Pieces { get; init; }
    public required float[] Scores { get; init; }
    public required PieceType[] Types { get; init; }
    /// TrainerSpec.model_type: 1 unigram, 2 BPE, 3 word, 4 char.
    public int ModelType { get; init; }
    public int? PadId { get; init; }

    const int BpeModelType = 2;
    public bool IsBpe => ModelType == BpeModelType;

    public static SentencePieceModelFile Read(byte[] bytes, string path)
    {
        if (bytes.Length == 0) throw new UserException($"{path}: empty file (a SentencePiece model holds at least its pieces)");
        try
        {
            var model = ReadCore(bytes);
            // protobuf reads almost any bytes as a message of unknown fields; a model without pieces is not one
            if (model.Pieces.Length == 0) throw new UserException($"{path}: not a SentencePiece model (no pieces in it)");
            return model;
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new UserException($"{path} is not a SentencePiece model (protobuf): {e.Message}", e);
        }
    }

    static SentencePieceModelFile ReadCore(byte[] bytes)
    {
        var pieces = new List<string>();
        var scores = new List<float>();
        var types = new List<PieceType>();
        int modelType = 1, padId = -1; // proto2 defaults
        var input = new CodedInputStream(bytes);
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1: // repeated SentencePiece pieces
                    var (piece, score, type) = ReadPiece(input.ReadBytes());
                    pieces.Add(piece); scores.Add(score); types.Add(type);
                    break;
                case 2: // TrainerSpec
                    ReadTrainerSpec(input.ReadBytes(), ref modelType, ref padId);
                    break;
                default:
                    input.SkipLastField();
                    break;
            }
        }
        return new SentencePieceModelFile
        {
            Pieces = [.. pieces], Scores = [.. scores], Types = [.. types],
            ModelType = modelType, PadId = padId >= 0 ? padId : null,
        };
    }

    static (string, float, PieceType) ReadPiece(ByteString message)
    {
        string piece = "";
        float score = 0;
        var type = PieceType.Normal;
        var input = message.CreateCodedInput();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1: piece = input.ReadString(); break;
                case 2: score = input.ReadFloat(); break;
                case 3: type = (PieceType)input.ReadEnum(); break;
                default: input.SkipLastField(); break;
            }
        }
        return (piece, score, type);
    }

    static void ReadTrainerSpec(ByteString message, ref int modelType, ref int padId)
    {
        var input = message.CreateCodedInput();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 3: modelType = input.ReadEnum(); break;
                case 43: padId = input.ReadInt32(); break;
                default: input.SkipLastField(); break;
            }
        }
    }
}
