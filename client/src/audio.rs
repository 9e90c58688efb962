//! Voice messages as sound: reading an audio file (any format symphonia
//! decodes: WAV, FLAC, Ogg Vorbis, MP3), its duration and its waveform,
//! encoding a recording as FLAC, and the microphone and speaker behind
//! `/voice` and `/play` (`record`, `play`). No terminal, no network.

mod decode;
pub mod play;
pub mod record;

pub use decode::{Decoded, decode, decode_file};

use heartlink_protocol::limits::{VOICE_DURATION_MS, WAVEFORM_LEVELS};

/// Recordings are made at this rate, mono, 16-bit: speech needs no more.
pub const RECORD_RATE: u32 = 16_000;

/// Why a file cannot be used as sound.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    /// Not a format the client decodes (or not audio at all).
    #[error("not audio the client can read ({0})")]
    NotAudio(String),
    #[error("the sound is longer than {} minutes", VOICE_DURATION_MS.end() / 60_000)]
    TooLong,
    #[error("encoding the recording failed: {0}")]
    Encode(String),
}

pub use crate::events::media::VoiceInfo;

/// The duration and waveform of mono samples at `rate` Hz.
pub fn voice_info(samples: &[f32], rate: u32) -> VoiceInfo {
    let duration_ms = if rate == 0 { 0 } else { (samples.len() as u64 * 1000 / u64::from(rate)).min(u64::from(u32::MAX)) as u32 };
    VoiceInfo { duration_ms, waveform: waveform(samples, *WAVEFORM_LEVELS.end()) }
}

/// The peak of each of `levels` equal stretches, scaled to 0–255 (fewer
/// levels for fewer samples; none for none).
pub fn waveform(samples: &[f32], levels: usize) -> Vec<u8> {
    let levels = levels.min(samples.len());
    if levels == 0 {
        return Vec::new();
    }
    (0..levels)
        .map(|index| {
            let from = index * samples.len() / levels;
            let to = ((index + 1) * samples.len() / levels).max(from + 1);
            let peak = samples[from..to].iter().fold(0f32, |peak, sample| peak.max(sample.abs()));
            (peak.clamp(0.0, 1.0) * 255.0).round() as u8
        })
        .collect()
}

/// A recording (mono, 16-bit, `rate` Hz) as a FLAC file's bytes.
pub fn encode_flac(samples: &[i16], rate: u32) -> Result<Vec<u8>, AudioError> {
    use flacenc::component::BitRepr;
    use flacenc::error::Verify;
    let config = flacenc::config::Encoder::default().into_verified().map_err(|(_, err)| AudioError::Encode(format!("{err:?}")))?;
    let wide: Vec<i32> = samples.iter().map(|sample| i32::from(*sample)).collect();
    let source = flacenc::source::MemSource::from_samples(&wide, 1, 16, rate as usize);
    let stream = flacenc::encode_with_fixed_block_size(&config, source, config.block_size)
        .map_err(|err| AudioError::Encode(format!("{err:?}")))?;
    let mut sink = flacenc::bitsink::ByteSink::new();
    stream.write(&mut sink).map_err(|err| AudioError::Encode(format!("{err:?}")))?;
    let mut bytes = sink.as_slice().to_vec();
    // STREAMINFO's minimum block size excludes the last block (FLAC spec);
    // the encoder counts it, which makes decoders (symphonia) refuse a
    // fixed-size stream. Bytes 8–9 are the minimum, 10–11 the maximum.
    if bytes.len() > 12 && bytes.starts_with(b"fLaC") {
        let (max_hi, max_lo) = (bytes[10], bytes[11]);
        bytes[8] = max_hi;
        bytes[9] = max_lo;
    }
    Ok(bytes)
}

/// Mono samples as a 16-bit WAV file's bytes (what an external player gets).
pub fn encode_wav(samples: &[f32], rate: u32) -> Result<Vec<u8>, AudioError> {
    let spec = hound::WavSpec { channels: 1, sample_rate: rate, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
    let mut bytes = std::io::Cursor::new(Vec::new());
    let mut writer = hound::WavWriter::new(&mut bytes, spec).map_err(|err| AudioError::Encode(err.to_string()))?;
    for sample in samples {
        writer.write_sample(to_i16(*sample)).map_err(|err| AudioError::Encode(err.to_string()))?;
    }
    writer.finalize().map_err(|err| AudioError::Encode(err.to_string()))?;
    Ok(bytes.into_inner())
}

pub fn to_i16(sample: f32) -> i16 {
    (sample.clamp(-1.0, 1.0) * f32::from(i16::MAX)).round() as i16
}

pub fn to_f32(sample: i16) -> f32 {
    f32::from(sample) / f32::from(i16::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(seconds: f32, amplitude: f32) -> Vec<f32> {
        let count = (seconds * RECORD_RATE as f32) as usize;
        (0..count).map(|i| amplitude * (i as f32 * 440.0 * std::f32::consts::TAU / RECORD_RATE as f32).sin()).collect()
    }

    #[test]
    fn duration_and_waveform_follow_the_sound() {
        let mut samples = vec![0.0; RECORD_RATE as usize];
        samples.extend(tone(1.0, 0.9));
        let info = voice_info(&samples, RECORD_RATE);
        assert_eq!(info.duration_ms, 2000);
        assert_eq!(info.waveform.len(), 128);
        assert!(info.waveform[..60].iter().all(|level| *level == 0), "{:?}", info.waveform);
        assert!(info.waveform[68..].iter().all(|level| *level > 200), "{:?}", info.waveform);
        assert_eq!(waveform(&[0.5, -1.0], 128), [128, 255], "never more levels than samples");
        assert!(voice_info(&[], RECORD_RATE).waveform.is_empty());
    }

    #[test]
    fn a_flac_recording_decodes_back_to_the_same_samples() {
        let samples: Vec<i16> = tone(0.5, 0.5).into_iter().map(to_i16).collect();
        let flac = encode_flac(&samples, RECORD_RATE).unwrap();
        assert!(flac.starts_with(b"fLaC") && flac.len() < samples.len() * 2, "{} bytes", flac.len());
        let decoded = decode(flac, Some("flac")).unwrap();
        assert_eq!(decoded.rate, RECORD_RATE);
        let back: Vec<i16> = decoded.samples.iter().map(|s| to_i16(*s)).collect();
        assert_eq!(back.len(), samples.len());
        assert!(back.iter().zip(&samples).all(|(a, b)| (i32::from(*a) - i32::from(*b)).abs() <= 1), "lossless");
        let wav = encode_wav(&decoded.samples, decoded.rate).unwrap();
        assert_eq!(decode(wav, Some("wav")).unwrap().samples.len(), samples.len());
        assert!(matches!(decode(b"%PDF-1.4 not sound".to_vec(), None), Err(AudioError::NotAudio(_))));
    }
}

