namespace LoraLab.Data;

/// A piece of rendered text and whether its tokens are training targets. A template renders a record
/// into an ordered list of these; the example builder tokenizes each piece separately so that the
/// boundary between prompt and response falls exactly between tokens.
public readonly record struct Segment(string Text, bool Trainable);
