//! Inline images: each picture is drawn over the rows the timeline keeps
//! for it (see `timeline::ImageRow`), sliced when the pane shows only part
//! of it, with ratatui-image (kitty, sixel, iTerm2 or half-blocks, as the
//! worker encoded it for this terminal).

use crate::app::{App, ImageState};
use crate::timeline::Row;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui_image::sliced::{SignedPosition, SlicedImage};

pub fn render(app: &App, frame: &mut Frame, area: Rect, rows: &[Row]) {
    let mut drawn: Vec<(heartlink_protocol::MediaId, i32)> = Vec::new();
    for (at, row) in rows.iter().enumerate() {
        let Some(image) = row.image else { continue };
        let top = i32::try_from(at).unwrap_or(i32::MAX) - i32::from(image.index);
        if drawn.contains(&(image.media_id, top)) {
            continue;
        }
        drawn.push((image.media_id, top));
        let Some(ImageState::Ready(picture)) = app.media.images.get(&image.media_id) else { continue };
        let (Ok(x), Ok(y)) = (i16::try_from(image.x), i16::try_from(top)) else { continue };
        frame.render_widget(SlicedImage::new(&picture.0, SignedPosition { x, y }), area);
    }
}
