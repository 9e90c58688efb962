//! Decoding a sound file to mono samples with symphonia, bounded: at most
//! the longest voice message the protocol allows.

use super::AudioError;
use heartlink_protocol::limits::VOICE_DURATION_MS;
use symphonia::core::audio::SampleBuffer;
use symphonia::core::codecs::{CODEC_TYPE_NULL, DecoderOptions};
use symphonia::core::errors::Error;
use symphonia::core::formats::FormatOptions;
use symphonia::core::io::MediaSourceStream;
use symphonia::core::meta::MetadataOptions;
use symphonia::core::probe::Hint;
use std::path::Path;

/// A sound as mono samples in -1.0..=1.0.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub samples: Vec<f32>,
    pub rate: u32,
}

/// Decodes the file at `path` (its extension is a hint, the bytes decide).
pub fn decode_file(path: &Path) -> Result<Decoded, AudioError> {
    let bytes = std::fs::read(path).map_err(|source| AudioError::Read { path: path.display().to_string(), source })?;
    decode(bytes, path.extension().and_then(|ext| ext.to_str()))
}

/// Decodes a whole sound held in memory.
pub fn decode(bytes: Vec<u8>, extension: Option<&str>) -> Result<Decoded, AudioError> {
    let not_audio = |err: Error| AudioError::NotAudio(err.to_string());
    let source = MediaSourceStream::new(Box::new(std::io::Cursor::new(bytes)), Default::default());
    let mut hint = Hint::new();
    if let Some(extension) = extension {
        hint.with_extension(extension);
    }
    let probed = symphonia::default::get_probe()
        .format(&hint, source, &FormatOptions::default(), &MetadataOptions::default())
        .map_err(not_audio)?;
    let mut format = probed.format;
    let track = format
        .tracks()
        .iter()
        .find(|track| track.codec_params.codec != CODEC_TYPE_NULL)
        .ok_or_else(|| AudioError::NotAudio("no sound track".to_owned()))?;
    let track_id = track.id;
    let rate = track.codec_params.sample_rate.filter(|rate| *rate > 0).ok_or_else(|| AudioError::NotAudio("no sample rate".to_owned()))?;
    let mut decoder = symphonia::default::get_codecs().make(&track.codec_params, &DecoderOptions::default()).map_err(not_audio)?;
    let most = u64::from(rate) * u64::from(*VOICE_DURATION_MS.end()) / 1000;
    let mut samples = Vec::new();
    loop {
        let packet = match format.next_packet() {
            Ok(packet) => packet,
            Err(Error::IoError(err)) if err.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(Error::ResetRequired) => break,
            Err(err) => return Err(not_audio(err)),
        };
        if packet.track_id() != track_id {
            continue;
        }
        let decoded = match decoder.decode(&packet) {
            Ok(decoded) => decoded,
            // A damaged packet is skipped, as players do; a cut-off last one ends the sound.
            Err(Error::DecodeError(_)) => continue,
            Err(Error::IoError(err)) if err.kind() == std::io::ErrorKind::UnexpectedEof => break,
            Err(err) => return Err(not_audio(err)),
        };
        let spec = *decoded.spec();
        let channels = spec.channels.count().max(1);
        let mut buffer = SampleBuffer::<f32>::new(decoded.capacity() as u64, spec);
        buffer.copy_interleaved_ref(decoded);
        samples.extend(buffer.samples().chunks(channels).map(|frame| frame.iter().sum::<f32>() / channels as f32));
        if samples.len() as u64 > most {
            return Err(AudioError::TooLong);
        }
    }
    if samples.is_empty() {
        return Err(AudioError::NotAudio("no samples".to_owned()));
    }
    Ok(Decoded { samples, rate })
}
