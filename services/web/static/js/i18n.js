// i18n.js — every label of the console, in Vietnamese (first) and English.
//
// Vietnamese is the default; the English toggle is remembered in
// localStorage ('hl_lang'). Static labels carry data-i18n="key" (and
// data-i18n-placeholder, data-i18n-title) and are filled by apply(); pages
// that draw from data listen for the 'hl:lang' event and redraw.
// Words follow the ward's report to the Department ("Quá hạn", "Khẩn",
// "Đã thông tin lại cho người phản ánh"). State labels come from the server
// (the procedure); the English names below are only shown in English mode.

const DICT = {
  // shell
  app_name: ['Đường dây nóng về ô nhiễm môi trường', 'Environmental-pollution hotline'],
  app_short: ['Đường dây nóng', 'Hotline'],
  skip: ['Bỏ qua, đến nội dung', 'Skip to content'],
  nav_intake: ['Tiếp nhận phản ánh', 'Take a report'],
  nav_dashboard: ['Bảng điều hành', 'Dashboard'],
  nav_cases: ['Hồ sơ', 'Cases'],
  nav_report: ['Báo cáo', 'Report'],
  nav_users: ['Người dùng', 'Users'],
  logout: ['Đăng xuất', 'Log out'],
  lang_toggle: ['English', 'Tiếng Việt'],
  lang_toggle_title: ['Switch to English', 'Chuyển sang tiếng Việt'],
  loading: ['Đang tải…', 'Loading…'],
  saving: ['Đang lưu…', 'Saving…'],
  sending: ['Đang gửi…', 'Sending…'],
  none: ['—', '—'],
  yes: ['Có', 'Yes'],
  no: ['Không', 'No'],
  optional: ['không bắt buộc', 'optional'],
  required_mark: ['bắt buộc', 'required'],

  // errors
  err_network: ['Không kết nối được với máy chủ. Chưa có gì được lưu; hãy thử lại.',
                'Could not reach the server. Nothing was stored; try again.'],
  err_timeout: ['Máy chủ không trả lời kịp. Hãy bấm gửi lại: phản ánh chỉ được ghi một lần.',
                'The server did not answer in time. Submit again: the report is recorded once only.'],
  err_generic: ['Có lỗi', 'Error'],
  err_forbidden: ['Vai trò của bạn không được làm việc này.', 'Your role may not do this.'],
  err_check_fields: ['Hãy kiểm tra các ô được đánh dấu.', 'Check the marked fields.'],
  err_required: ['Bắt buộc', 'Required'],

  // login
  login_title: ['Đăng nhập', 'Log in'],
  login_intro: ['Dành cho cán bộ tiếp nhận và xử lý thông tin phản ánh về ô nhiễm môi trường.',
                'For the staff who receive and handle reports of environmental pollution.'],
  user: ['Tên đăng nhập', 'User name'],
  password: ['Mật khẩu', 'Password'],
  otp: ['Mã xác thực (OTP)', 'Authentication code (OTP)'],
  otp_hint: ['Chỉ khi tài khoản có xác thực hai bước', 'Only if your account has two-step verification'],
  login_button: ['Đăng nhập', 'Log in'],
  login_failed: ['Sai tên đăng nhập, mật khẩu hoặc mã xác thực.', 'Wrong user name, password or code.'],
  login_throttled: ['Quá nhiều lần thử. Hãy đợi một lúc rồi thử lại.', 'Too many attempts. Wait a while and try again.'],
  logged_out: ['Bạn đã đăng xuất.', 'You have logged out.'],
  session_expired: ['Phiên làm việc đã hết hạn; hãy đăng nhập lại.', 'Your session expired; log in again.'],

  // intake
  intake_title: ['Tiếp nhận thông tin phản ánh', 'Take a report'],
  intake_intro: ['Ghi đầy đủ theo Điều 8, Quyết định 174/QĐ-BTNMT. Số hồ sơ chỉ hiện khi phản ánh đã được lưu an toàn.',
                 'Record every field of Article 8, Decision 174/QĐ-BTNMT. The case number appears only once the report is safely stored.'],
  sec_reporter: ['Người phản ánh', 'Reporter'],
  reporter_confidential: ['Thông tin người phản ánh được giữ bí mật.', "The reporter's identity is kept confidential."],
  anonymous: ['Người phản ánh không cho biết danh tính (ẩn danh)', 'The reporter stays anonymous'],
  reporter_name: ['Họ và tên', 'Name'],
  phone: ['Số điện thoại', 'Phone'],
  email: ['Email', 'E-mail'],
  address: ['Địa chỉ', 'Address'],
  reply_hint: ['Cần ít nhất một cách liên lạc (điện thoại, email hoặc địa chỉ), trừ khi ẩn danh.',
               'At least one way to reply (phone, e-mail or address), unless anonymous.'],
  sec_report: ['Nội dung phản ánh', 'The report'],
  type: ['Loại ô nhiễm', 'Pollution type'],
  channel: ['Hình thức tiếp nhận', 'Received by'],
  scope: ['Phạm vi ảnh hưởng', 'Scope'],
  urgent: ['Khẩn (vụ việc nghiêm trọng, phức tạp)', 'Urgent — Khẩn (serious or complex)'],
  sudden: ['Đột xuất (xả thải bất thường, sự cố)', 'Sudden (a one-off discharge or incident)'],
  occurred: ['Thời điểm xảy ra / phát hiện', 'When it happened / was noticed'],
  description: ['Mô tả nội dung phản ánh', 'Description'],
  description_hint: ['Ctrl+Enter để gửi', 'Ctrl+Enter to submit'],
  polluter: ['Tổ chức, cá nhân gây ô nhiễm (nếu biết)', 'Polluter (if known)'],
  polluter_category: ['Loại nguồn gây ô nhiễm', 'Kind of polluter'],
  evidence: ['Chứng cứ kèm theo (ảnh, video, ghi âm, tài liệu)', 'Evidence (photos, video, audio, documents)'],
  evidence_hint: ['Mỗi dòng một tham chiếu (tên tệp, đường dẫn, số hiệu)', 'One reference per line (file name, link, number)'],
  sec_location: ['Địa điểm', 'Location'],
  location: ['Địa điểm xảy ra ô nhiễm', 'Where'],
  latitude: ['Vĩ độ', 'Latitude'],
  longitude: ['Kinh độ', 'Longitude'],
  map_hint: ['Bấm trên bản đồ để chọn tọa độ (không bắt buộc).', 'Click the map to pick the coordinates (optional).'],
  map_offline: ['Không có nền bản đồ: lưới tọa độ. Bấm để chọn điểm.', 'No map tiles: a coordinate grid. Click to pick a point.'],
  clear_coords: ['Xóa tọa độ', 'Clear coordinates'],
  submit_report: ['Ghi nhận phản ánh', 'Record the report'],
  submitted_title: ['Đã tiếp nhận. Số hồ sơ:', 'Recorded. Case number:'],
  submitted_read: ['Đọc số hồ sơ này cho người phản ánh.', 'Read this number back to the reporter.'],
  open_case: ['Mở hồ sơ', 'Open the case'],
  new_report: ['Tiếp nhận phản ánh mới', 'Take another report'],
  request_reused: ['Phản ánh này đã được gửi trước đó với nội dung khác. Hãy kiểm tra danh sách hồ sơ trước khi gửi lại.',
                   'This report was already sent with other content. Check the case list before sending again.'],

  // case list
  cases_title: ['Danh sách hồ sơ', 'Cases'],
  filter_state: ['Trạng thái', 'State'],
  filter_type: ['Loại', 'Type'],
  filter_overdue: ['Chỉ hồ sơ quá hạn', 'Overdue only'],
  filter_from: ['Từ ngày', 'From'],
  filter_to: ['Đến ngày', 'To'],
  filter_q: ['Tìm kiếm', 'Search'],
  filter_q_ph: ['Số hồ sơ, địa điểm, nội dung…', 'Case number, place, text…'],
  filter_apply: ['Lọc', 'Filter'],
  filter_reset: ['Bỏ lọc', 'Clear'],
  all: ['Tất cả', 'All'],
  col_case: ['Số hồ sơ', 'Case'],
  col_received: ['Tiếp nhận', 'Received'],
  col_type: ['Loại', 'Type'],
  col_location: ['Địa điểm', 'Location'],
  col_state: ['Trạng thái', 'State'],
  col_deadline: ['Hạn tiếp theo', 'Next deadline'],
  col_assignee: ['Người xử lý', 'Assignee'],
  no_cases: ['Không có hồ sơ nào.', 'No cases.'],
  page_of: ['Trang {page} / {pages} · {total} hồ sơ', 'Page {page} of {pages} · {total} cases'],
  prev: ['‹ Trước', '‹ Previous'],
  next: ['Sau ›', 'Next ›'],
  overdue: ['Quá hạn', 'Overdue'],
  urgent_badge: ['Khẩn', 'Urgent'],
  left: ['còn {d}', '{d} left'],
  late_by: ['quá hạn {d}', '{d} late'],
  u_day: ['ngày', 'd'],
  u_hour: ['giờ', 'h'],
  u_min: ['phút', 'min'],
  u_sec: ['giây', 's'],

  // case page
  case_title: ['Hồ sơ', 'Case'],
  ward: ['Phường', 'Ward'],
  received: ['Tiếp nhận', 'Received'],
  via: ['qua', 'by'],
  kind_sudden: ['đột xuất', 'sudden'],
  kind_continuous: ['thường xuyên / liên tục', 'regular / continuous'],
  coords: ['Tọa độ', 'Coordinates'],
  reporter: ['Người phản ánh', 'Reporter'],
  reporter_anonymous: ['(ẩn danh)', '(anonymous)'],
  reporter_redacted: ['(bảo mật — vai trò của bạn không được xem)', '(confidential — not shown to your role)'],
  assignee: ['Phân công', 'Assigned to'],
  duplicate_of: ['Trùng với', 'Duplicate of'],
  department_case: ['Sở xử lý', 'Department case'],
  origin_case: ['Phường chuyển', 'From the ward'],
  regime: ['Chế độ', 'Regime'],
  regime_normal: ['Thường', 'Normal'],
  regime_urgent: ['Khẩn', 'Urgent'],
  sec_deadlines: ['Thời hạn', 'Deadlines'],
  dl_name: ['Việc', 'Step'],
  dl_due: ['Hạn', 'Due'],
  dl_status: ['Tình trạng', 'Status'],
  dl_met: ['Hoàn thành lúc', 'Done at'],
  dl_running: ['Đang chạy', 'Running'],
  dl_met_s: ['Đã xong', 'Met'],
  dl_breached: ['Quá hạn', 'Breached'],
  dl_met_late: ['Xong, trễ hạn', 'Met late'],
  dl_stopped: ['Dừng', 'Stopped'],
  sec_history: ['Lịch sử xử lý', 'History'],
  sec_actions: ['Xử lý tiếp', 'Next steps'],
  actions_none: ['Vai trò của bạn không có việc nào cần làm với hồ sơ này lúc này.', 'Your role has nothing to do on this case now.'],
  action_done: ['Đã ghi: {action}', 'Recorded: {action}'],
  note: ['Ghi chú', 'Note'],
  do_action: ['Xác nhận', 'Confirm'],
  cancel: ['Hủy', 'Cancel'],
  allowed_now: ['Được phép lúc này', 'Allowed now'],
  case_not_found: ['Không tìm thấy hồ sơ.', 'Case not found.'],
  back_to_list: ['‹ Danh sách hồ sơ', '‹ Case list'],
  print: ['In', 'Print'],

  // action argument labels (any name the procedure may require falls back to itself)
  arg_to: ['Giao cho (ví dụ division:lan)', 'Assign to (e.g. division:lan)'],
  arg_with: ['Cơ quan được tham vấn', 'Agency consulted'],
  arg_of: ['Số hồ sơ trùng', 'Case it duplicates'],
  arg_reason: ['Lý do', 'Reason'],
  arg_channel: ['Hình thức', 'Channel'],
  arg_note: ['Ghi chú', 'Note'],

  // report
  report_title: ['Báo cáo tình hình tổ chức, vận hành đường dây nóng', 'Report on running the hotline'],
  period: ['Kỳ báo cáo', 'Period'],
  show_report: ['Xem báo cáo', 'Show'],
  download_csv: ['Tải CSV', 'Download CSV'],
  save_text: ['Lưu phần lời văn', 'Save the text'],
  saved: ['Đã lưu.', 'Saved.'],
  edit_hint: ['Các mục lời văn dưới đây được soạn ngay trên trang, lưu theo kỳ báo cáo và in cùng số liệu.',
              'The text sections below are written here, kept per period and printed with the figures.'],
  letter: ['Văn bản được trả lời (Thực hiện …)', 'The letter answered'],
  practice: ['2.1) Thực tế triển khai', '2.1) How it works in practice'],
  difficulties: ['2.2) Khó khăn, vướng mắc', '2.2) Difficulties'],
  proposals: ['2.3) Đề xuất giải pháp, cách thức vận hành', '2.3) Proposals'],
  figures_title: ['Số liệu tiếp nhận, xử lý thông tin phản ánh trong kỳ', 'Reports received and handled in the period'],
  focal_title: ['1. Danh sách đầu mối tiếp nhận, xử lý thông tin phản ánh qua đường dây nóng về ô nhiễm môi trường tại địa phương',
                '1. Focal points for receiving and handling hotline reports'],
  section2_title: ['2. Thực tế triển khai, khó khăn, vướng mắc và đề xuất giải pháp, cách thức vận hành để nâng cao hiệu quả hoạt động của hệ thống đường dây nóng về ô nhiễm môi trường',
                   '2. Practice, difficulties and proposals to make the hotline work better'],
  fp_unit: ['Đơn vị', 'Unit'],
  fp_receiving: ['Đầu mối tiếp nhận', 'Receiving focal point'],
  fp_handling: ['Đầu mối xử lý', 'Handling focal point'],
  fp_phone: ['Số điện thoại', 'Phone'],
  fp_email: ['Email', 'E-mail'],
  fp_note: ['Ghi chú', 'Notes'],
  no_stt: ['TT', 'No.'],
  fig_received: ['Tiếp nhận', 'Received'],
  fig_verified: ['Đã xác minh', 'Verified'],
  fig_accurate: ['Phản ánh đúng', 'Accurate'],
  fig_resolved: ['Đã giải quyết', 'Resolved'],
  fig_informed: ['Đã thông tin lại', 'Reporter informed'],
  fig_forwarded: ['Chuyển Sở', 'To the Department'],
  fig_verified_on_time: ['Xác minh đúng hạn', 'Verified on time'],
  fig_verified_late: ['Xác minh trễ hạn', 'Verified late'],
  fig_open: ['Còn tồn', 'Outstanding'],
  by_type: ['Loại ô nhiễm', 'Pollution type'],
  by_ward: ['Phường/xã', 'Ward'],
  total: ['Tổng cộng', 'Total'],
  report_to: ['Kính gửi: Sở Nông nghiệp và Môi trường.', 'To: the Department of Agriculture and Environment.'],
  report_heading: ['BÁO CÁO', 'REPORT'],
  report_subject: ['Tình hình tổ chức, vận hành đường dây nóng về ô nhiễm môi trường',
                   'How the environmental-pollution hotline is organised and run'],
  period_text: ['Kỳ báo cáo: từ ngày {from} đến ngày {to}', 'Period: {from} to {to}'],
  nation: ['CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM', 'SOCIALIST REPUBLIC OF VIETNAM'],
  motto: ['Độc lập - Tự do - Hạnh phúc', 'Independence - Freedom - Happiness'],
  committee: ['ỦY BAN NHÂN DÂN', "PEOPLE'S COMMITTEE OF"],
  committee_prose: ['Ủy ban nhân dân {place}', "The People's Committee of {place}"],
  closing: ['{unit} thông tin đến Sở Nông nghiệp và Môi trường được biết, tổng hợp báo cáo Ủy ban nhân dân thành phố./.',
            '{unit} informs the Department of Agriculture and Environment, for its report to the city People\'s Committee.'],
  recipients: ['Nơi nhận:', 'To:'],
  recipients_list: ['- Như trên;\n- Lưu: VT.', '- As above;\n- Filed.'],
  signature: ['TM. ỦY BAN NHÂN DÂN', "FOR THE PEOPLE'S COMMITTEE"],
  // at the city the report is the Department's, to the city People's Committee
  dept_parent: ['UBND thành phố {city}', "People's Committee of {city} city"],
  dept_name: ['Sở Nông nghiệp và Môi trường {city}', 'Department of Agriculture and Environment of {city}'],
  dept_report_to: ['Kính gửi: Ủy ban nhân dân thành phố {city}.', "To: the People's Committee of {city} city."],
  dept_closing: ['{unit} báo cáo Ủy ban nhân dân thành phố {city} xem xét, chỉ đạo./.',
                 "{unit} reports to the People's Committee of {city} city for its consideration and direction."],
  dept_recipients_list: ['- Như trên;\n- Bộ Nông nghiệp và Môi trường (để báo cáo);\n- Lưu: VT.',
                         '- As above;\n- Ministry of Agriculture and Environment (for information);\n- Filed.'],
  dept_signature: ['KT. GIÁM ĐỐC', 'FOR THE DIRECTOR'],
  dept_signer: ['PHÓ GIÁM ĐỐC', 'DEPUTY DIRECTOR'],
  text_readonly: ['Vai trò của bạn chỉ được xem phần lời văn.', 'Your role may only read the text.'],

  // users
  users_title: ['Người dùng', 'Users'],
  add_user: ['Thêm người dùng', 'Add a user'],
  role: ['Vai trò', 'Role'],
  disabled: ['Đã khóa', 'Disabled'],
  active: ['Đang hoạt động', 'Active'],
  totp: ['Xác thực 2 bước', 'Two-step'],
  created: ['Tạo lúc', 'Created'],
  last_login: ['Đăng nhập gần nhất', 'Last login'],
  reset_password: ['Đặt lại mật khẩu', 'Reset password'],
  new_password: ['Mật khẩu mới', 'New password'],
  generate: ['Tạo ngẫu nhiên', 'Generate'],
  disable: ['Khóa', 'Disable'],
  enable: ['Mở khóa', 'Enable'],
  user_added: ['Đã thêm {name}.', 'Added {name}.'],
  password_set: ['Đã đặt mật khẩu mới cho {name}.', 'New password set for {name}.'],
  password_show_once: ['Mật khẩu chỉ hiện một lần, hãy chuyển cho người dùng.', 'The password is shown once; pass it on.'],
  admin_only: ['Trang này dành cho quản trị viên.', 'This page is for administrators.'],
  sec_deadletters: ['Thông báo không gửi được', 'Messages that could not be delivered'],
  no_deadletters: ['Không có.', 'None.'],
  role_viewer: ['Chỉ xem', 'Viewer (read-only)'],
  role_admin: ['Quản trị', 'Administrator'],
};

// Codes the report uses, with their labels (also as the server's report labels)
const CODES = {
  type: {
    waste_water: ['Nước thải', 'Waste water'],
    air_emissions: ['Khí thải, khói bụi', 'Air emissions'],
    solid_waste: ['Chất thải rắn', 'Solid waste'],
    noise: ['Tiếng ồn', 'Noise'],
    odour: ['Mùi hôi', 'Odour'],
    soil: ['Ô nhiễm đất', 'Soil'],
    other: ['Khác', 'Other'],
  },
  channel: {
    phone: ['Điện thoại', 'Phone'], email: ['Email', 'E-mail'], walk_in: ['Trực tiếp', 'In person'],
    web: ['Trang web', 'Web'], letter: ['Văn bản, thư', 'Letter'], other: ['Khác', 'Other'],
  },
  scope: {
    within_ward: ['Trong phường', 'Within the ward'],
    several_wards: ['Nhiều phường/xã', 'Several wards'],
    beyond_city: ['Ngoài phạm vi thành phố', 'Beyond the city'],
  },
  polluter_category: {
    household: ['Hộ gia đình, cá nhân', 'Household or person'],
    business: ['Cơ sở sản xuất, kinh doanh, dịch vụ', 'Business'],
    construction: ['Công trình xây dựng', 'Construction site'],
    licensed_facility: ['Cơ sở được cấp phép môi trường', 'Licensed facility'],
    industrial_zone: ['Khu, cụm công nghiệp', 'Industrial zone'],
    other: ['Khác', 'Other'],
  },
  action: {
    submit: ['Tiếp nhận', 'Received'],
    inform_leaders: ['Báo cáo lãnh đạo', 'Leaders informed'],
    route: ['Phân loại thẩm quyền', 'Route'],
    assign: ['Phân công xác minh', 'Assign'],
    verify: ['Xác minh', 'Verify'],
    consult: ['Tham vấn', 'Consult'],
    contain: ['Ngăn chặn phát tán', 'Contain'],
    resolve: ['Xử lý xong', 'Resolve'],
    inform: ['Thông tin lại cho người phản ánh', 'Inform the reporter'],
    close: ['Kết thúc', 'Close'],
    reopen: ['Mở lại', 'Reopen'],
    reject: ['Không thụ lý', 'Reject'],
    duplicate: ['Đánh dấu trùng lặp', 'Mark duplicate'],
    deadline_warn: ['Cảnh báo sắp hết hạn', 'Deadline warning'],
    deadline_breach: ['Quá hạn', 'Deadline breached'],
  },
  variant: {
    ward: ['thuộc phường', "ward's"],
    department: ['chuyển Sở', 'to the Department'],
    accurate: ['chính xác', 'accurate'],
    inaccurate: ['không chính xác', 'inaccurate'],
  },
  deadline: {
    inform_leaders: ['Báo cáo lãnh đạo', 'Inform the leaders'],
    route: ['Phân loại thẩm quyền', 'Route'],
    verify: ['Xác minh', 'Verify'],
    reverify: ['Xác minh lại', 'Re-verify'],
    contain: ['Ngăn chặn phát tán', 'Contain'],
    inform: ['Thông tin lại người phản ánh', 'Inform the reporter'],
  },
  state_en: {
    received: 'Received', leaders_informed: 'Leaders informed', routed_ward: "Ward's authority",
    forwarded: 'Forwarded to the Department', verifying: 'Being verified',
    verified_accurate: 'Verified: accurate', verified_inaccurate: 'Verified: inaccurate',
    contained: 'Spreading stopped', resolved: 'Handled', rejected: 'Not accepted',
    reporter_informed: 'Reporter informed', reopened: 'Reopened', closed: 'Closed', duplicate: 'Duplicate',
  },
  role: {
    officer: ['Cán bộ trực đường dây nóng', 'Duty officer'],
    leader: ['Lãnh đạo UBND phường', 'Ward leader'],
    division: ['Phòng Kinh tế, Hạ tầng và Đô thị', 'Environment division'],
    department: ['Sở Nông nghiệp và Môi trường', 'City Department'],
    viewer: ['Chỉ xem', 'Viewer (read-only)'],
    admin: ['Quản trị', 'Administrator'],
    system: ['Hệ thống', 'System'],
  },
};

const KEY = 'hl_lang';
let current = 'vi';
try { current = localStorage.getItem(KEY) === 'en' ? 'en' : 'vi'; } catch (e) { /* storage off */ }

export function lang () { return current; }
const idx = () => (current === 'en' ? 1 : 0);

// t('key', {param: value}): the label in the current language
export function t (key, params) {
  const entry = DICT[key];
  let s = entry ? entry[idx()] : key;
  if (params) s = s.replace(/\{(\w+)\}/g, (m, p) => (p in params ? String(params[p]) : m));
  return s;
}

// A code's label: code('type', 'noise') -> "Tiếng ồn"; unknown codes show as themselves
export function code (kind, value) {
  const entry = CODES[kind] && CODES[kind][value];
  return entry ? entry[idx()] : (value || '');
}
export function codes (kind) { return Object.keys(CODES[kind] || {}); }

// A state's label: the server's (the procedure's, Vietnamese) first; in English our name for it
export function stateLabel (name, serverLabel) {
  if (current === 'en' && CODES.state_en[name]) return CODES.state_en[name];
  return serverLabel || name || '';
}

export function actionLabel (action, variant) {
  const a = code('action', action);
  return variant ? `${a} — ${code('variant', variant)}` : a;
}

export function setLang (value) {
  current = value === 'en' ? 'en' : 'vi';
  try { localStorage.setItem(KEY, current); } catch (e) { /* storage off */ }
  apply(document);
  document.dispatchEvent(new CustomEvent('hl:lang', { detail: current }));
}

// Fill every data-i18n element under root
export function apply (root = document) {
  document.documentElement.lang = current;
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-placeholder]')) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of root.querySelectorAll('[data-i18n-title]')) el.title = t(el.dataset.i18nTitle);
  for (const el of root.querySelectorAll('[data-i18n-aria]')) el.setAttribute('aria-label', t(el.dataset.i18nAria));
}

// ------------------------------------------------------------ formatting

const TZ = 'Asia/Ho_Chi_Minh';
const pad = (n) => String(n).padStart(2, '0');

function parts (ms) {
  const f = new Intl.DateTimeFormat('en-GB', { timeZone: TZ, year: 'numeric', month: '2-digit', day: '2-digit',
    hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  const o = {};
  for (const p of f.formatToParts(new Date(ms))) o[p.type] = p.value;
  return o;
}

// 07/12/2026 09:06 (the node's zone, Vietnam)
export function fmtTime (ms) {
  if (ms === null || ms === undefined || ms === 0) return '';
  const p = parts(ms);
  return `${p.day}/${p.month}/${p.year} ${p.hour}:${p.minute}`;
}
export function fmtDate (ms) {
  if (!ms) return '';
  const p = parts(ms);
  return `${p.day}/${p.month}/${p.year}`;
}
// YYYY-MM-DD of an epoch ms, in Vietnam
export function isoDate (ms) {
  const p = parts(ms);
  return `${p.year}-${p.month}-${p.day}`;
}

// "2 giờ 05 phút" — the two largest units
export function fmtDuration (ms) {
  let s = Math.max(0, Math.floor(Math.abs(ms) / 1000));
  const d = Math.floor(s / 86400); s -= d * 86400;
  const hh = Math.floor(s / 3600); s -= hh * 3600;
  const mm = Math.floor(s / 60); s -= mm * 60;
  const u = (n, k) => `${n} ${t(k)}`;
  if (d) return `${u(d, 'u_day')} ${u(hh, 'u_hour')}`;
  if (hh) return `${u(hh, 'u_hour')} ${u(pad(mm), 'u_min')}`;
  if (mm) return `${u(mm, 'u_min')} ${u(pad(s), 'u_sec')}`;
  return u(s, 'u_sec');
}

// "còn 3 giờ 10 phút" / "quá hạn 20 phút"
export function fmtCountdown (dueMs, nowMs) {
  const left = dueMs - nowMs;
  return left >= 0 ? t('left', { d: fmtDuration(left) }) : t('late_by', { d: fmtDuration(left) });
}
