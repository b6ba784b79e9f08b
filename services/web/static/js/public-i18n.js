// public-i18n.js — the citizens' pages' words (report-public.html,
// track.html), in Vietnamese (first) and English, on top of i18n.js.
//
// The shared i18n.js keeps the language (localStorage 'hl_lang'), the codes
// (pollution types, deadlines) and the time formats; this file adds the
// public pages' own labels. Elements carry data-pt="key" (data-pt-aria,
// data-pt-placeholder), not data-i18n, so the shared apply() never
// overwrites them with an unknown key; applyPublic() fills them, and each
// page calls it again on the 'hl:lang' event that setLang() sends.
//
// A citizen reads plain Vietnamese: the words avoid the officers' jargon
// ("thụ lý", "định tuyến") and say what happens next.

import { t, lang, apply } from './i18n.js';

const DICT = {
  public_title: ['Phản ánh ô nhiễm môi trường', 'Report pollution'],
  public_intro: ['Gửi phản ánh về nước thải, khói bụi, rác thải, tiếng ồn hay mùi hôi cho Ủy ban nhân dân phường. '
                 + 'Không cần tài khoản. Sau khi gửi, bạn nhận số hồ sơ và đường dẫn để theo dõi.',
                 'Tell the ward People\'s Committee about waste water, smoke, dumped waste, noise or odour. '
                 + 'No account needed. Once sent you get a case number and a link to follow it.'],
  staff_login: ['Cán bộ đăng nhập', 'Staff log in'],
  for_citizens: ['Phản ánh ô nhiễm', 'Report pollution'],
  for_citizens_hint: ['Người dân gửi phản ánh, không cần đăng nhập', 'For citizens: no login needed'],

  sec_what: ['Bạn thấy gì?', 'What did you see?'],
  p_type: ['Loại ô nhiễm', 'Kind of pollution'],
  p_type_choose: ['— Chọn loại ô nhiễm —', '— Choose —'],
  p_description: ['Mô tả', 'Description'],
  p_description_hint: ['Ví dụ: nước thải màu đen chảy ra kênh từ sáng nay, mùi hôi nồng.',
                       'For example: black waste water flowing into the canal since this morning, a strong smell.'],

  sec_where: ['Ở đâu?', 'Where?'],
  p_geolocate: ['Dùng vị trí hiện tại của tôi', 'Use my current location'],
  p_geolocating: ['Đang lấy vị trí…', 'Finding your location…'],
  p_geo_denied: ['Không lấy được vị trí (trình duyệt không cho phép). Hãy chọn trên bản đồ hoặc ghi địa chỉ.',
                 'Could not get your location (the browser did not allow it). Pick it on the map or write the address.'],
  p_geo_unavailable: ['Trình duyệt này không cho lấy vị trí. Hãy chọn trên bản đồ hoặc ghi địa chỉ.',
                      'This browser cannot give your location. Pick it on the map or write the address.'],
  p_map_hint: ['Chạm vào bản đồ để đánh dấu nơi xảy ra ô nhiễm.', 'Tap the map to mark where it is.'],
  p_map_offline: ['Chưa có bản đồ nền: chạm vào lưới tọa độ để đánh dấu điểm gần đúng, hoặc dùng vị trí hiện tại.',
                  'No base map: tap the coordinate grid to mark a point, or use your current location.'],
  p_picked: ['Đã đánh dấu: {lat}, {lon}', 'Marked: {lat}, {lon}'],
  p_not_picked: ['Chưa đánh dấu vị trí.', 'No point marked yet.'],
  p_clear_pin: ['Bỏ điểm đã đánh dấu', 'Remove the point'],
  p_ward: ['Phường', 'Ward'],
  p_ward_auto: ['— Theo điểm đánh dấu trên bản đồ —', '— From the point marked on the map —'],
  p_ward_not_ready: ['{ward} (chưa nhận phản ánh gửi từ thành phố, đang nâng cấp)',
                     '{ward} (does not take reports from the city yet: being upgraded)'],
  p_ward_hint: ['Chọn phường nơi xảy ra ô nhiễm, hoặc đánh dấu trên bản đồ để biết phường theo vị trí.',
                'Choose the ward where it is, or mark the map and the ward is found from the point.'],
  p_location: ['Địa chỉ hoặc mô tả nơi xảy ra', 'Address or description of the place'],
  p_location_hint: ['Số nhà, tên đường, tổ, khu phố, hoặc mốc dễ nhận biết. Không bắt buộc nếu đã đánh dấu trên bản đồ.',
                    'House number, street, group, or a landmark. Optional if you marked the map.'],
  p_location_pin: ['Vị trí đánh dấu trên bản đồ', 'Point marked on the map'],

  sec_evidence: ['Ảnh, ghi âm, video', 'Photos, audio, video'],
  p_camera: ['Chụp ảnh', 'Take a photo'],
  p_add_files: ['Chọn ảnh, ghi âm, video', 'Choose photos, audio, video'],
  p_files_hint: ['Không bắt buộc. Tối đa {count} tệp, mỗi tệp đến {mb} MB: ảnh JPEG, PNG, WebP; video MP4; ghi âm M4A, AAC, MP3, OGG.',
                 'Optional. At most {count} files of up to {mb} MB each: JPEG, PNG or WebP photos; MP4 video; M4A, AAC, MP3 or OGG audio.'],
  p_remove: ['Bỏ', 'Remove'],
  p_remove_file: ['Bỏ tệp {name}', 'Remove {name}'],
  p_too_many: ['Chỉ gửi được tối đa {count} tệp. Hãy bỏ bớt.', 'At most {count} files. Remove some.'],
  p_too_big: ['Tệp "{name}" lớn hơn {mb} MB.', '"{name}" is larger than {mb} MB.'],
  p_empty_file: ['Tệp "{name}" rỗng.', '"{name}" is empty.'],

  sec_who: ['Thông tin của bạn', 'About you'],
  p_confidential: ['Theo Quyết định 174/QĐ-BTNMT, danh tính, số điện thoại, địa chỉ và nội dung phản ánh của bạn '
                   + 'được giữ bí mật. Chỉ cán bộ tiếp nhận, xử lý của phường được xem.',
                   'Under Decision 174/QĐ-BTNMT your identity, phone number, address and report are kept '
                   + 'confidential. Only the ward staff who receive and handle it can see them.'],
  p_contact_hint: ['Để lại số điện thoại hoặc email để phường thông tin lại kết quả cho bạn.',
                   'Leave a phone number or e-mail so the ward can tell you the result.'],
  p_anonymous: ['Tôi không để lại thông tin (ẩn danh). Tôi sẽ theo dõi kết quả qua đường dẫn.',
                'I stay anonymous. I will follow the result through the link.'],
  p_name: ['Họ và tên', 'Name'],
  p_phone: ['Số điện thoại', 'Phone'],
  p_email: ['Email', 'E-mail'],
  p_optional: ['(không bắt buộc)', '(optional)'],
  p_honeypot: ['Không điền vào ô này', 'Leave this empty'],

  p_submit: ['Gửi phản ánh', 'Send the report'],
  p_sending: ['Đang gửi…', 'Sending…'],
  p_sending_files: ['Đang gửi… {pct}%', 'Sending… {pct}%'],

  p_done_title: ['Đã gửi phản ánh', 'Report sent'],
  p_done_number: ['Số hồ sơ của bạn', 'Your case number'],
  p_done_link: ['Đường dẫn theo dõi phản ánh', 'Your tracking link'],
  p_done_keep: ['Hãy lưu lại đường dẫn này (sao chép, chụp màn hình hoặc đánh dấu trang): đây là cách để bạn xem '
                + 'kết quả xử lý. Đừng chia sẻ cho người khác.',
                'Keep this link (copy it, take a screenshot or bookmark it): it is how you see the result. '
                + 'Do not share it.'],
  p_done_nolink: ['Chưa tạo được đường dẫn theo dõi. Hãy ghi lại số hồ sơ và gọi đường dây nóng của phường để hỏi kết quả.',
                  'No tracking link could be made. Note the case number and phone the ward\'s hotline for the result.'],
  p_done_pending: ['Đã lưu, đang chuyển về {ward}. Số hồ sơ sẽ hiện trên trang theo dõi.',
                   'Stored, on its way to {ward}. The case number will show on the tracking page.'],
  p_copy: ['Sao chép', 'Copy'],
  p_copied: ['Đã sao chép', 'Copied'],
  p_copy_failed: ['Không sao chép được: hãy chọn và sao chép đường dẫn.', 'Could not copy: select the link and copy it.'],
  p_open_track: ['Mở trang theo dõi', 'Open the tracking page'],
  p_new_report: ['Gửi phản ánh khác', 'Send another report'],

  // refusals, in plain words (the server's own message is kept for the rest)
  p_err_type: ['Hãy chọn loại ô nhiễm.', 'Choose the kind of pollution.'],
  p_err_description: ['Hãy mô tả điều bạn thấy.', 'Describe what you saw.'],
  p_err_description_bad: ['Mô tả quá dài (tối đa 4.000 ký tự) hoặc có ký tự không hợp lệ.',
                          'The description is too long (4,000 characters at most) or holds invalid characters.'],
  p_err_where: ['Hãy đánh dấu trên bản đồ, dùng vị trí hiện tại, hoặc ghi địa chỉ.',
                'Mark the map, use your current location, or write the address.'],
  p_err_ward: ['Hãy chọn phường, hoặc đánh dấu nơi xảy ra trên bản đồ.', 'Choose the ward, or mark the place on the map.'],
  p_err_ward_outside: ['Điểm đã đánh dấu không thuộc phường nào của thành phố. Hãy chọn phường trong danh sách.',
                       'The marked point is in no ward of the city. Choose the ward from the list.'],
  p_err_location_bad: ['Địa chỉ quá dài (tối đa 300 ký tự) hoặc có ký tự không hợp lệ.',
                       'The address is too long (300 characters at most) or holds invalid characters.'],
  p_err_contact: ['Hãy để lại số điện thoại hoặc email, hoặc chọn "ẩn danh".',
                  'Leave a phone number or e-mail, or choose "anonymous".'],
  p_err_phone: ['Số điện thoại chưa đúng: 8 đến 15 chữ số.', 'The phone number must be 8 to 15 digits.'],
  p_err_email: ['Địa chỉ email chưa đúng.', 'The e-mail address is not valid.'],
  p_err_name: ['Họ tên quá dài hoặc có ký tự không hợp lệ.', 'The name is too long or holds invalid characters.'],
  p_err_coords: ['Vị trí đánh dấu không hợp lệ. Hãy đánh dấu lại.', 'The marked point is not valid. Mark it again.'],
  p_err_anonymous: ['Đã chọn ẩn danh thì không ghi tên, số điện thoại, email.',
                    'Anonymous: leave out the name, phone and e-mail.'],
  p_err_refused: ['Không gửi được phản ánh này. Nếu cần, hãy gọi đường dây nóng của phường.',
                  'This report could not be sent. If you need to, phone the ward\'s hotline.'],
  p_err_busy: ['Bạn đã gửi nhiều lần trong thời gian ngắn. Hãy thử lại sau khoảng {min} phút, hoặc gọi đường dây nóng.',
               'You have sent many times in a short while. Try again in about {min} minutes, or phone the hotline.'],
  p_err_server: ['Hệ thống đang bận, phản ánh chưa được lưu. Hãy thử gửi lại sau ít phút.',
                 'The system is busy and the report was not stored. Try again in a few minutes.'],
  p_err_check: ['Hãy xem lại các ô được đánh dấu đỏ.', 'Check the fields marked in red.'],

  // tracking page
  track_title: ['Theo dõi phản ánh', 'Follow your report'],
  track_no_token: ['Đường dẫn theo dõi không đầy đủ. Hãy mở đúng đường dẫn bạn nhận được khi gửi phản ánh.',
                   'This tracking link is incomplete. Open the exact link you got when you sent the report.'],
  track_pending: ['Đang chuyển về {ward}', 'On its way to {ward}'],
  track_pending_help: ['Phản ánh đã được lưu ở thành phố và đang chuyển về phường. Số hồ sơ sẽ có khi phường tiếp nhận.',
                       'Stored at the city and on its way to the ward. It gets a case number when the ward takes it.'],
  track_refused: ['{ward} không tiếp nhận phản ánh này', '{ward} did not accept this report'],
  track_refused_help: ['Phản ánh không được lập hồ sơ và sẽ không được xử lý. Lý do: {reason}. Bạn có thể gửi phản ánh mới hoặc gọi đường dây nóng của phường.',
                       'The report was not filed and will not be handled. Why: {reason}. You can send a new report or phone the ward\'s hotline.'],
  track_no_number: ['(chưa có)', '(not yet)'],
  track_not_found: ['Không tìm thấy phản ánh theo đường dẫn này. Hãy kiểm tra lại đường dẫn.',
                    'No report found for this link. Check the link.'],
  track_case: ['Số hồ sơ', 'Case number'],
  track_state: ['Tình trạng hiện nay', 'Where it is now'],
  track_received: ['Gửi lúc', 'Sent on'],
  track_type: ['Loại ô nhiễm', 'Kind of pollution'],
  track_location: ['Nơi xảy ra', 'Where'],
  track_description: ['Nội dung', 'What you reported'],
  track_files: ['Tệp bạn đã gửi', 'Files you sent'],
  track_files_n: ['{n} tệp', '{n} file(s)'],
  track_deadlines: ['Thời hạn xử lý', 'Deadlines'],
  track_no_deadline: ['Không có thời hạn nào đang chạy.', 'No deadline is running.'],
  track_due: ['hạn {when}', 'due {when}'],
  track_history: ['Các bước đã qua', 'Steps so far'],
  track_result: ['Kết quả xử lý', 'The result'],
  track_refresh: ['Cập nhật', 'Refresh'],
  track_updated: ['Cập nhật lúc {when}', 'Updated at {when}'],
  track_rate_q: ['Bạn có hài lòng với kết quả xử lý không?', 'Are you satisfied with how it was handled?'],
  track_satisfied: ['Hài lòng', 'Satisfied'],
  track_unsatisfied: ['Không hài lòng', 'Not satisfied'],
  track_rated: ['Bạn đã đánh giá: {r}', 'Your rating: {r}'],
  track_rated_thanks: ['Cảm ơn bạn đã đánh giá.', 'Thank you for your rating.'],
  track_reopen: ['Chưa được xử lý', 'Not fixed'],
  track_reopen_hint: ['Nếu ô nhiễm vẫn còn hoặc quay lại, hãy cho phường biết: hồ sơ sẽ được mở lại và xác minh lại.',
                      'If the pollution is still there or came back, tell the ward: the case is reopened and verified again.'],
  track_reopen_note: ['Điều gì chưa được xử lý?', 'What is not fixed?'],
  track_reopen_send: ['Gửi yêu cầu xử lý lại', 'Ask for it to be handled again'],
  track_reopened: ['Đã gửi. Hồ sơ được mở lại để xác minh lại.', 'Sent. The case is reopened to be verified again.'],
  track_add_photo: ['Gửi thêm ảnh', 'Add a photo'],
  track_add_photo_hint: ['Ảnh, ghi âm hoặc video mới về nơi ô nhiễm.', 'A new photo, recording or video of the place.'],
  track_add_note: ['Ghi chú kèm theo', 'A note with it'],
  track_add_send: ['Gửi tệp', 'Send the file(s)'],
  track_added: ['Đã gửi {n} tệp.', 'Sent {n} file(s).'],
  track_no_files: ['Hãy chọn ít nhất một tệp.', 'Choose at least one file.'],
  track_note_required: ['Hãy cho biết điều gì chưa được xử lý.', 'Say what is not fixed.'],
  track_not_now: ['Hồ sơ đã chuyển sang bước khác, việc này không còn làm được. Trang đã được cập nhật.',
                  'The case has moved on and this can no longer be done. The page is up to date.'],
  track_report_new: ['Gửi phản ánh mới', 'Send a new report'],
  cancel: ['Hủy', 'Cancel'],
};

// What each step means for the reporter (the procedure's label stays the
// title; this is the sentence under it). A state the procedure adds later
// simply has no sentence.
const STATE_HELP = {
  received: ['Phường đã nhận phản ánh của bạn.', 'The ward has your report.'],
  leaders_informed: ['Lãnh đạo phường đã được báo cáo và đang chỉ đạo xác minh.',
                     'The ward leaders have been told and are directing the check.'],
  routed_ward: ['Việc này thuộc trách nhiệm của phường. Cán bộ sẽ đến xác minh.',
                'This is the ward\'s to handle. Staff will go and check.'],
  forwarded: ['Việc này thuộc thẩm quyền của Sở Nông nghiệp và Môi trường thành phố; phường đã chuyển ngay cho Sở.',
              'This is for the city Department of Agriculture and Environment; the ward passed it on at once.'],
  verifying: ['Cán bộ đang xác minh tại chỗ.', 'Staff are checking on site.'],
  verified_accurate: ['Đã xác minh: phản ánh của bạn là đúng. Phường đang ngăn chặn ô nhiễm.',
                      'Checked: your report is accurate. The ward is stopping the pollution.'],
  verified_inaccurate: ['Cán bộ đã xác minh nhưng không thấy ô nhiễm như phản ánh.',
                        'Staff checked but did not find the pollution reported.'],
  contained: ['Đã ngăn không cho ô nhiễm lan rộng. Phường đang xử lý dứt điểm.',
              'The pollution has been stopped from spreading. The ward is dealing with it.'],
  resolved: ['Đã xử lý xong. Phường sẽ thông tin lại kết quả cho bạn.', 'Handled. The ward will tell you the result.'],
  rejected: ['Phản ánh này không thuộc phạm vi xử lý của đường dây nóng.', 'This report is not one the hotline handles.'],
  reporter_informed: ['Phường đã thông tin lại kết quả cho bạn (xem bên dưới).', 'The ward has told you the result (below).'],
  reopened: ['Hồ sơ được mở lại và sẽ được xác minh lại.', 'The case is reopened and will be checked again.'],
  closed: ['Hồ sơ đã kết thúc.', 'The case is closed.'],
  duplicate: ['Phản ánh này trùng với một phản ánh khác đang được xử lý.', 'This report duplicates another one being handled.'],
};

const idx = () => (lang() === 'en' ? 1 : 0);

// pt('key', {param}): this file's label, else the shared one
export function pt (key, params) {
  const entry = DICT[key];
  if (!entry) return t(key, params);
  let s = entry[idx()];
  if (params) s = s.replace(/\{(\w+)\}/g, (m, p) => (p in params ? String(params[p]) : m));
  return s;
}

export function stateHelp (state) {
  const entry = STATE_HELP[state];
  return entry ? entry[idx()] : '';
}

// The server writes "Vietnamese (English)": show the half for the language
export function plain (message) {
  const s = String(message || '');
  const m = /^(.*\S)\s+\(([^()]*)\)$/.exec(s);
  if (!m) return s;
  return lang() === 'en' ? m[2].charAt(0).toUpperCase() + m[2].slice(1) : m[1];
}

export function applyPublic (root = document) {
  apply(root);
  for (const el of root.querySelectorAll('[data-pt]')) el.textContent = pt(el.dataset.pt);
  for (const el of root.querySelectorAll('[data-pt-placeholder]')) el.placeholder = pt(el.dataset.ptPlaceholder);
  for (const el of root.querySelectorAll('[data-pt-aria]')) el.setAttribute('aria-label', pt(el.dataset.ptAria));
}
