// dashboard-i18n.js — the dashboard's own labels, Vietnamese first, English
// second, in the language the shared toggle chose (i18n.js lang()).
//
//   dt('wards_title')  dt('n_wards', {n: 3321})

import { lang, stateLabel } from './i18n.js';

const DICT = {
  title: ['Bảng điều hành của Sở', "The Department's dashboard"],
  lead: ['Tất cả phường, xã của thành phố trong một màn hình: số liệu cập nhật trực tiếp, không cần tải lại trang.',
         "Every ward of the city on one screen: the figures move live, with no reload."],
  period: ['Kỳ', 'Period'],
  apply: ['Xem', 'Show'],
  last7: ['7 ngày', '7 days'],
  last30: ['30 ngày', '30 days'],
  year: ['Từ đầu năm', 'This year'],
  city_report: ['Báo cáo toàn thành phố', 'City-wide report'],
  csv: ['Tải CSV', 'Download CSV'],
  live: ['Trực tiếp', 'Live'],
  connecting: ['Đang kết nối…', 'Connecting…'],
  reconnecting: ['Đang kết nối lại…', 'Reconnecting…'],

  // summary
  s_received: ['Tiếp nhận trong kỳ', 'Received in the period'],
  s_open: ['Đang xử lý', 'Open now'],
  s_overdue: ['Quá hạn', 'Overdue now'],
  s_on_time: ['Xác minh đúng hạn', 'Verified on time'],
  s_forwarded: ['Chuyển Sở', 'To the Department'],
  s_informed: ['Đã thông tin lại', 'Reporter informed'],
  s_silent: ['Phường im lặng 24 giờ', 'Wards silent 24 h'],
  department: ['Sở NN&MT', 'The Department'],
  of_wards: ['/ {n} phường, xã', 'of {n} wards'],

  // wards
  wards_title: ['Các phường, xã', 'Wards'],
  wards_hint: ['Xếp hạng theo tỷ lệ xác minh đúng hạn, như đường dây nóng 1022 công bố. Bấm tiêu đề cột để sắp xếp; bấm một phường để xem chi tiết.',
               'Ranked by on-time verification rate, as the 1022 hotline publishes. Click a heading to sort; click a ward for its details.'],
  search_ward: ['Tìm phường (mã hoặc tên)', 'Find a ward (code or name)'],
  c_rank: ['Hạng', 'Rank'],
  c_ward: ['Phường, xã', 'Ward'],
  c_received: ['Tiếp nhận', 'Received'],
  c_open: ['Đang xử lý', 'Open'],
  c_overdue: ['Quá hạn', 'Overdue'],
  c_verified: ['Xác minh', 'Verified'],
  c_on_time: ['Đúng hạn', 'On time'],
  c_forwarded: ['Chuyển Sở', 'Forwarded'],
  c_informed: ['Đã báo lại', 'Informed'],
  c_last: ['Sự kiện cuối', 'Last event'],
  silent: ['im lặng', 'silent'],
  never: ['chưa có', 'never'],
  ago: ['{d} trước', '{d} ago'],
  just_now: ['vừa xong', 'just now'],
  page_wards: ['Trang {page} / {pages} · {total} phường, xã', 'Page {page} of {pages} · {total} wards'],
  no_wards: ['Không có phường nào.', 'No ward.'],
  updated: ['Cập nhật', 'Updated'],

  // ward detail
  detail_title: ['Phường {ward}', 'Ward {ward}'],
  close: ['Đóng', 'Close'],
  focal: ['Đầu mối tiếp nhận, xử lý', 'Focal points'],
  ward_cases: ['Hồ sơ của phường (đã ẩn thông tin người phản ánh)', "The ward's cases (reporters withheld)"],
  all_cases: ['Mở danh sách đầy đủ', 'Open the full list'],

  // stream
  stream_title: ['Diễn biến trực tiếp', 'Live events'],
  stream_empty: ['Chưa có sự kiện nào.', 'No event yet.'],
  stream_resumed: ['Đã nối lại, không mất sự kiện nào.', 'Reconnected; no event was lost.'],
  stream_reset: ['Đã tải lại số liệu (mất kết nối quá lâu).', 'Figures reloaded (away too long).'],
  ev_directory: ['cập nhật danh sách đầu mối', 'updated its focal points'],

  // map
  map_title: ['Bản đồ phản ánh', 'Map of the reports'],
  map_no_tiles: ['Không có nền bản đồ: các điểm được vẽ theo tọa độ.', 'No map tiles: the points are drawn by their coordinates.'],
  map_none: ['Chưa có phản ánh nào có tọa độ trong kỳ.', 'No report with coordinates in the period.'],
  map_count: ['{n} phản ánh có tọa độ', '{n} reports with coordinates'],
  map_truncated: ['(chỉ hiện những phản ánh mới nhất)', '(the newest only)'],
  cluster: ['{n} phản ánh', '{n} reports'],
  legend_overdue: ['Quá hạn', 'Overdue'],

  // charts
  charts_title: ['Biểu đồ', 'Charts'],
  ch_per_day: ['Phản ánh mỗi ngày theo loại', 'Reports per day, by type'],
  ch_on_time: ['Tỷ lệ xác minh đúng hạn theo tuần (%)', 'On-time verification rate by week (%)'],
  ch_age: ['Hồ sơ đang xử lý theo thời gian tồn', 'Open cases by age'],
  age_lt_1d: ['< 1 ngày', '< 1 day'],
  age_1_3d: ['1–3 ngày', '1–3 days'],
  age_3_7d: ['3–7 ngày', '3–7 days'],
  age_7_30d: ['7–30 ngày', '7–30 days'],
  age_gt_30d: ['> 30 ngày', '> 30 days'],
  no_charts: ['Không tải được Chart.js; số liệu vẫn có trong bảng.', 'Chart.js is not available; the table has the figures.'],

  // queue
  queue_title: ['Hồ sơ chuyển Sở xử lý', "The Department's queue"],
  queue_hint: ['Hồ sơ các phường chuyển lên Sở, hạn nào gần nhất trước. Kết quả xử lý được gửi về phường.',
               'Cases the wards forwarded, nearest deadline first. The work goes back to the ward.'],
  queue_empty: ['Không có hồ sơ nào đang chờ Sở.', 'No case waits for the Department.'],
  from_ward: ['từ phường', 'from ward'],
  open_case: ['Chi tiết', 'Details'],
  no_actions: ['Không có việc cho vai trò của bạn lúc này.', 'Nothing for your role now.'],
  done_action: ['Đã ghi: {action}', 'Recorded: {action}'],
};

const idx = () => (lang() === 'en' ? 1 : 0);

export function dt (key, params) {
  const entry = DICT[key];
  let s = entry ? entry[idx()] : key;
  if (params) s = s.replace(/\{(\w+)\}/g, (m, p) => (p in params ? String(params[p]) : m));
  return s;
}

// Fill the data-dt labels of the page's static HTML
export function applyDashboard (root = document) {
  for (const el of root.querySelectorAll('[data-dt]')) el.textContent = dt(el.dataset.dt);
  for (const el of root.querySelectorAll('[data-dt-placeholder]')) el.placeholder = dt(el.dataset.dtPlaceholder);
  for (const el of root.querySelectorAll('[data-dt-aria]')) el.setAttribute('aria-label', dt(el.dataset.dtAria));
}

// A state's label: the procedure's (setStates, from /api/v1/procedure), in
// English our name for it (i18n.js stateLabel)
const labels = new Map();
export function setStates (states) {
  for (const s of states || []) labels.set(s.name, s.label);
}
export function stateText (name) {
  return stateLabel(name, labels.get(name));
}

// Numbers the Vietnamese way in Vietnamese (1.234), the English way in English
export function num (n) {
  if (n === null || n === undefined) return '—';
  return new Intl.NumberFormat(lang() === 'en' ? 'en-GB' : 'vi-VN').format(n);
}

export function pct (x) {
  if (x === null || x === undefined) return '—';
  return `${new Intl.NumberFormat(lang() === 'en' ? 'en-GB' : 'vi-VN', { maximumFractionDigits: 1 }).format(x)}%`;
}
