package console

import (
	"net/http"
	"strings"
	"time"

	"github.com/dargah137/dargah/cases/workcal"
)

// langs the consoles speak; the first is the default.
var langs = []string{"fa", "en", "ar"}

// messages holds every user-facing string: fa, en, ar.
var messages = map[string][3]string{
	"app":                   {"درگاه ۱۳۷ — میز کار کارکنان", "Dargah 137 — staff console", "درگاه ۱۳۷ — مكتب الموظفين"},
	"skip":                  {"پرش به محتوا", "Skip to content", "انتقل إلى المحتوى"},
	"sign_in":               {"ورود", "Sign in", "تسجيل الدخول"},
	"sign_out":              {"خروج", "Sign out", "تسجيل الخروج"},
	"username":              {"نام کاربری", "Username", "اسم المستخدم"},
	"password":              {"گذرواژه", "Password", "كلمة المرور"},
	"name":                  {"نام و نام خانوادگی", "Full name", "الاسم الكامل"},
	"roles":                 {"نقش‌ها", "Roles", "الأدوار"},
	"department":            {"کد واحد (برای مسئول واحد)", "Department code (officials only)", "رمز الدائرة (للمسؤولين فقط)"},
	"dept":                  {"واحد", "Department", "الدائرة"},
	"home":                  {"پیشخوان", "Home", "الرئيسية"},
	"welcome":               {"خوش آمدید", "Welcome", "أهلاً وسهلاً"},
	"users":                 {"کاربران", "Users", "المستخدمون"},
	"audit":                 {"گزارش رویدادها", "Audit log", "سجل التدقيق"},
	"inbox":                 {"کارتابل", "Inbox", "صندوق الوارد"},
	"desk":                  {"ثبت حضوری و نامه", "Walk-in and letters", "الحضور والرسائل"},
	"wallboard":             {"تابلوی نظارت", "Wallboard", "لوحة المراقبة"},
	"reports":               {"گزارش‌ها", "Reports", "التقارير"},
	"state":                 {"وضعیت", "State", "الحالة"},
	"active":                {"فعال", "Active", "نشط"},
	"disabled":              {"غیرفعال", "Disabled", "معطل"},
	"disable":               {"غیرفعال کردن حساب", "Disable account", "تعطيل الحساب"},
	"save":                  {"ذخیره", "Save", "حفظ"},
	"create_user":           {"ساخت کاربر", "Create user", "إنشاء مستخدم"},
	"new_password":          {"گذرواژه تازه (خالی = بدون تغییر)", "New password (empty keeps it)", "كلمة مرور جديدة (فارغ = بلا تغيير)"},
	"edit":                  {"ویرایش", "Edit", "تحرير"},
	"saved":                 {"ذخیره شد.", "Saved.", "تم الحفظ."},
	"created":               {"کاربر ساخته شد.", "User created.", "تم إنشاء المستخدم."},
	"when":                  {"زمان", "When", "الوقت"},
	"who":                   {"کاربر", "Who", "المستخدم"},
	"action":                {"کار", "Action", "الإجراء"},
	"target":                {"موضوع", "Target", "الهدف"},
	"ip":                    {"نشانی IP", "IP address", "عنوان IP"},
	"detail":                {"جزئیات", "Detail", "التفاصيل"},
	"tracking":              {"کد رهگیری", "Tracking code", "رمز التتبع"},
	"service":               {"خدمت", "Service", "الخدمة"},
	"status":                {"وضعیت", "Status", "الحالة"},
	"opened":                {"ثبت", "Opened", "فُتح"},
	"due":                   {"مهلت", "Due", "الموعد"},
	"citizen":               {"شهروند", "Citizen", "المواطن"},
	"description":           {"شرح", "Description", "الوصف"},
	"address":               {"نشانی", "Address", "العنوان"},
	"answer":                {"پاسخ", "Answer", "الرد"},
	"escalation":            {"سطح پیگیری", "Escalation level", "مستوى التصعيد"},
	"timeline":              {"روند رسیدگی", "Timeline", "المسار"},
	"public":                {"عمومی", "Public", "عام"},
	"staff_only":            {"داخلی", "Staff only", "داخلي"},
	"no_cases":              {"پرونده‌ای نیست.", "No cases.", "لا توجد ملفات."},
	"all_departments":       {"همهٔ واحدها", "All departments", "كل الدوائر"},
	"unassigned":            {"بدون واحد", "Unassigned", "غير مسندة"},
	"show":                  {"نمایش", "Show", "عرض"},
	"channel":               {"نوع مراجعه", "Channel", "القناة"},
	"walk_in":               {"مراجعهٔ حضوری", "Walk-in visitor", "زائر حضوري"},
	"letter":                {"نامه", "Letter", "رسالة"},
	"letter_no":             {"شمارهٔ نامه (برای نامه)", "Letter number (letters only)", "رقم الرسالة (للرسائل)"},
	"phone":                 {"تلفن همراه", "Mobile phone", "الهاتف المحمول"},
	"text":                  {"متن درخواست", "Request", "نص الطلب"},
	"submit":                {"ثبت", "Submit", "إرسال"},
	"desk_done":             {"ثبت شد. کد رهگیری:", "Recorded. Tracking code:", "تم التسجيل. رمز التتبع:"},
	"desk_answered":         {"پاسخ در همان لحظه:", "Answered on the spot:", "الرد الفوري:"},
	"desk_pending":          {"ثبت شد و در صف بررسی است.", "Recorded; it is being processed.", "تم التسجيل وهو قيد المعالجة."},
	"live":                  {"به‌روزرسانی زنده", "Live", "مباشر"},
	"open_cases":            {"پرونده‌های باز", "Open cases", "الملفات المفتوحة"},
	"today":                 {"ثبت‌شده امروز", "Opened today", "فُتحت اليوم"},
	"escalated":             {"ارجاع‌شده به پیگیری", "Escalated", "مصعّدة"},
	"by_status":             {"به تفکیک وضعیت", "By status", "حسب الحالة"},
	"by_service":            {"پرونده‌ها به تفکیک خدمت", "Cases by service", "الملفات حسب الخدمة"},
	"forbidden":             {"دسترسی به این صفحه برای شما مجاز نیست.", "You are not allowed to open this page.", "لا يُسمح لك بفتح هذه الصفحة."},
	"not_found":             {"پیدا نشد.", "Not found.", "غير موجود."},
	"server_error":          {"خطایی در سامانه رخ داد؛ دوباره تلاش کنید.", "Something went wrong; please try again.", "حدث خطأ؛ حاول مرة أخرى."},
	"bad_credentials":       {"نام کاربری یا گذرواژه درست نیست.", "Wrong username or password.", "اسم المستخدم أو كلمة المرور غير صحيحة."},
	"locked":                {"به‌دلیل تلاش‌های ناموفق پیاپی، ورود تا %d دقیقهٔ دیگر بسته است.", "Too many failed attempts; signing in is blocked for %d minutes.", "محاولات فاشلة كثيرة؛ الدخول موقوف لمدة %d دقيقة."},
	"csrf":                  {"نشست فرم منقضی شده است؛ صفحه را دوباره باز کنید و دوباره بفرستید.", "The form expired; reload the page and submit again.", "انتهت صلاحية النموذج؛ أعد تحميل الصفحة وأرسل مجدداً."},
	"session_expired":       {"نشست شما پایان یافته است؛ دوباره وارد شوید.", "Your session ended; please sign in again.", "انتهت جلستك؛ سجّل الدخول مجدداً."},
	"err_username":          {"نام کاربری باید ۲ تا ۳۲ نویسه از حروف کوچک لاتین، رقم، نقطه، خط تیره یا زیرخط باشد.", "Username must be 2–32 of a-z, 0-9, dot, dash or underscore.", "اسم المستخدم ٢–٣٢ من a-z و0-9 والنقطة والشرطة."},
	"err_roles":             {"دست‌کم یک نقش انتخاب کنید.", "Choose at least one role.", "اختر دوراً واحداً على الأقل."},
	"err_department":        {"مسئول واحد به کد واحد (حروف لاتین کوچک و رقم) نیاز دارد و فقط مسئول واحد کد واحد دارد.", "A department official needs a department code (a-z, 0-9), and only officials have one.", "مسؤول الدائرة يحتاج رمز دائرة، ولا رمز لغيره."},
	"err_name":              {"نام حداکثر ۱۰۰ نویسه است.", "Name is at most 100 characters.", "الاسم ١٠٠ حرف على الأكثر."},
	"err_password":          {"گذرواژه باید ۱۰ تا ۱۲۸ نویسه باشد.", "Password must be 10–128 characters.", "كلمة المرور ١٠–١٢٨ حرفاً."},
	"err_taken":             {"این نام کاربری پیش‌تر گرفته شده است.", "That username is taken.", "اسم المستخدم مستخدم مسبقاً."},
	"err_text":              {"متن درخواست را بنویسید (حداکثر ۴۰۰۰ نویسه).", "Write the request (at most 4000 characters).", "اكتب الطلب (٤٠٠٠ حرف على الأكثر)."},
	"err_phone":             {"شمارهٔ تلفن همراه درست نیست؛ مانند ۰۹۱۲۱۲۳۴۵۶۷ بنویسید.", "The mobile number is not valid; write it like 09121234567.", "رقم الهاتف غير صحيح؛ اكتبه مثل 09121234567."},
	"err_letter_no":         {"برای نامه، شمارهٔ نامه را بنویسید (حروف و رقم، حداکثر ۴۰ نویسه).", "A letter needs its number (letters and digits, at most 40).", "الرسالة تحتاج رقمها (حتى ٤٠ حرفاً)."},
	"err_channel":           {"نوع مراجعه را انتخاب کنید.", "Choose the channel.", "اختر القناة."},
	"err_self_admin":        {"نمی‌توانید نقش مدیر یا حساب خودتان را بردارید.", "You cannot remove your own admin role or disable yourself.", "لا يمكنك إزالة دور المدير عن نفسك أو تعطيل حسابك."},
	"err_unavailable":       {"این بخش در این نصب فعال نیست.", "This part is not enabled on this installation.", "هذا القسم غير مفعّل."},
	"agents":                {"کارشناسان پاسخگو", "Agents", "الموظفون"},
	"agent":                 {"کارشناس", "Agent", "الموظف"},
	"since":                 {"از", "Since", "منذ"},
	"pause_reason":          {"علت توقف", "Pause reason", "سبب التوقف"},
	"agent_available":       {"آماده", "Available", "متاح"},
	"agent_ringing":         {"در حال زنگ", "Ringing", "يرن"},
	"agent_on_call":         {"در مکالمه", "On a call", "في مكالمة"},
	"agent_wrap_up":         {"جمع‌بندی تماس", "Wrap-up", "إنهاء المكالمة"},
	"agent_paused":          {"توقف", "Paused", "متوقف"},
	"agent_logged_out":      {"خارج از سامانه", "Logged out", "غير متصل"},
	"actions":               {"اقدام", "Act on the case", "إجراء"},
	"note":                  {"متن پاسخ یا یادداشت", "Answer or note", "الرد أو الملاحظة"},
	"act_accept":            {"پذیرش پرونده", "Accept the case", "قبول الملف"},
	"act_answer":            {"ثبت پاسخ", "Record the answer", "تسجيل الرد"},
	"act_verify":            {"تأیید پاسخ و اطلاع به شهروند", "Verify and tell the citizen", "التحقق وإبلاغ المواطن"},
	"act_followup_return":   {"بازگرداندن به واحد", "Return to the department", "إعادة إلى الدائرة"},
	"act_followup_escalate": {"ارجاع به سطح بالاتر", "Escalate", "تصعيد"},
	"act_followup_close":    {"بستن پرونده", "Close the case", "إغلاق الملف"},
	"act_duplicate":         {"ثبت به‌عنوان تکراری", "Mark as a duplicate", "وسم كمكرر"},
	"act_not_duplicate":     {"تکراری نیست؛ ارجاع به واحد", "Not a duplicate: assign it", "ليس مكررًا: أسنده"},
	"master_code":           {"کد پیگیری پروندهٔ اصلی (برای تکراری)", "Tracking code of the original case (for a duplicate)", "رمز متابعة الملف الأصلي (للمكرر)"},
	"duplicate_of":          {"تکراریِ پرونده", "Duplicate of", "مكرر للملف"},
	"err_duplicate":         {"کد پیگیری یک پروندهٔ دیگرِ باز یا پاسخ‌داده‌شده را وارد کنید.", "Enter the tracking code of another case that is open or answered.", "أدخل رمز متابعة ملف آخر مفتوح أو مُجاب عنه."},
	"err_answer":            {"متن پاسخ را بنویسید (حداکثر ۴۰۰۰ نویسه).", "Write the answer (at most 4000 characters).", "اكتب الرد (٤٠٠٠ حرف على الأكثر)."},
	"err_state":             {"وضعیت پرونده تغییر کرده و این کار اکنون ممکن نیست؛ پرونده را دوباره ببینید.", "The case has moved on; this is no longer possible. Look at it again.", "تغيّرت حالة الملف؛ لم يعد هذا ممكناً."},
	"ev_opened":             {"ثبت پرونده", "Opened", "فتح الملف"},
	"ev_message":            {"پیام شهروند", "Citizen message", "رسالة المواطن"},
	"ev_accepted":           {"پذیرش در واحد", "Accepted by the department", "قبول الدائرة"},
	"ev_acknowledged":       {"رؤیت", "Acknowledged", "تم الاطلاع"},
	"ev_answered":           {"پاسخ واحد", "Department answered", "رد الدائرة"},
	"ev_assigned":           {"ارجاع به واحد", "Assigned to a department", "إسناد إلى دائرة"},
	"ev_closed":             {"بسته شد", "Closed", "أُغلق"},
	"ev_duplicate":          {"تکراری", "Duplicate", "مكرر"},
	"ev_not_duplicate":      {"تکراری نیست", "Not a duplicate", "ليس مكررًا"},
	"ev_escalated":          {"ارجاع به سطح بالاتر", "Escalated", "تصعيد"},
	"ev_extended":           {"تمدید مهلت", "Deadline extended", "تمديد الموعد"},
	"ev_follow_up":          {"ارسال به پیگیری", "Sent to follow-up", "أُحيل للمتابعة"},
	"ev_follow_up_overdue":  {"تأخیر در پیگیری", "Follow-up overdue", "تأخر المتابعة"},
	"ev_info_requested":     {"درخواست اطلاعات از شهروند", "Information requested", "طلب معلومات"},
	"ev_rated":              {"امتیاز شهروند", "Citizen rated", "تقييم المواطن"},
	"ev_rejected":           {"عدم پذیرش", "Rejected", "رُفض"},
	"ev_resumed":            {"ادامهٔ رسیدگی", "Resumed", "استئناف"},
	"ev_returned":           {"بازگشت به واحد", "Returned to the department", "أعيد إلى الدائرة"},
	"ev_verified":           {"تأیید پاسخ", "Answer verified", "تم التحقق من الرد"},
	"filter_open":           {"نیازمند رسیدگی", "Needing work", "قيد المعالجة"},
	"filter_all":            {"همه", "All", "الكل"},
	"overdue":               {"گذشته از مهلت", "Overdue", "متأخر"},
	"role_agent":            {"کارشناس ۱۳۷", "137 agent", "موظف ١٣٧"},
	"role_supervisor":       {"سرپرست", "Supervisor", "مشرف"},
	"role_department":       {"مسئول واحد", "Department official", "مسؤول دائرة"},
	"role_followup":         {"واحد پیگیری", "Follow-up unit", "وحدة المتابعة"},
	"role_inspection":       {"بازرسی", "Inspection", "التفتيش"},
	"role_admin":            {"مدیر سامانه", "Administrator", "مدير النظام"},
	"status_open":           {"باز", "Open", "مفتوح"},
	"status_assigned":       {"ارجاع به واحد", "With department", "لدى الدائرة"},
	"status_answered":       {"پاسخ داده شده", "Answered", "تم الرد"},
	"status_verified":       {"تأیید پاسخ", "Verified", "تم التحقق"},
	"status_waiting":        {"در انتظار شهروند", "Waiting for citizen", "بانتظار المواطن"},
	"status_follow_up":      {"در پیگیری", "Follow-up", "متابعة"},
	"status_closed":         {"بسته", "Closed", "مغلق"},
	// Agent desktop, search and the wallboard's queues.
	"phone_desk":            {"میز تلفن", "Phone desk", "مكتب الهاتف"},
	"search":                {"جست‌وجوی پرونده", "Case search", "البحث عن ملف"},
	"endpoint":              {"داخلی (تلفن شما)", "Extension (your phone)", "الرقم الداخلي (هاتفك)"},
	"skills":                {"مهارت‌ها (نام:سطح)", "Skills (name:level)", "المهارات (الاسم:المستوى)"},
	"phone_login":           {"ورود به صف تماس", "Log in to the queue", "الدخول إلى الطابور"},
	"phone_line":            {"خط تلفن", "Phone line", "خط الهاتف"},
	"phone_logout":          {"خروج از صف تماس", "Log out of the queue", "الخروج من الطابور"},
	"wrap_up_done":          {"پایان جمع‌بندی", "Wrap-up done", "انتهاء الإنهاء"},
	"call":                  {"تماس", "Call", "المكالمة"},
	"no_call":               {"تماسی نیست", "No call", "لا توجد مكالمة"},
	"caller":                {"شماره تماس‌گیرنده", "Caller number", "رقم المتصل"},
	"language":              {"زبان", "Language", "اللغة"},
	"ivr_path":              {"مسیر منوی تلفنی", "IVR path", "مسار القائمة الصوتية"},
	"past_cases":            {"پرونده‌های پیشین", "Past cases", "الملفات السابقة"},
	"outcome":               {"نتیجه تماس", "Call outcome", "نتيجة المكالمة"},
	"call_id":               {"شناسه تماس", "Call id", "معرّف المكالمة"},
	"call_resolved":         {"در همان تماس پاسخ داده شد", "Resolved on the call", "تمت الإجابة خلال المكالمة"},
	"open_case":             {"ثبت پرونده", "Open a case", "فتح ملف"},
	"map_help":              {"برای تعیین محل روی نقشه مناطق کلیک کنید.", "Click the districts map to set the location.", "انقر على خريطة المناطق لتحديد الموقع."},
	"lat":                   {"عرض جغرافیایی", "Latitude", "خط العرض"},
	"long":                  {"طول جغرافیایی", "Longitude", "خط الطول"},
	"record_outcome":        {"ثبت نتیجه", "Record outcome", "تسجيل النتيجة"},
	"call_ring":             {"در حال زنگ", "Ringing", "يرن"},
	"call_answered":         {"در مکالمه", "Answered", "تم الرد"},
	"call_ended":            {"پایان تماس", "Ended", "انتهت"},
	"call_missed":           {"بی‌پاسخ", "Missed", "فائتة"},
	"no_past_cases":         {"پرونده‌ای برای این شماره یافت نشد", "No cases for this number", "لا ملفات لهذا الرقم"},
	"err_login":             {"داخلی و مهارت‌ها (مانند fa:5 asphalt:3، سطح ۱ تا ۵) را درست وارد کنید.", "Enter your extension and skills (e.g. fa:5 asphalt:3, levels 1–5).", "أدخل الرقم الداخلي والمهارات (مثل fa:5، المستوى ١–٥)."},
	"err_line":              {"این خط تلفن وجود ندارد.", "There is no such phone line.", "لا يوجد خط الهاتف هذا."},
	"err_other_line":        {"شما در خط دیگری وارد صف هستید؛ نخست از آن خارج شوید.", "You are logged in on another line; log out of it first.", "أنت مسجّل في خط آخر؛ اخرج منه أولاً."},
	"err_reason":            {"علت توقف را بنویسید.", "Give a reason for the pause.", "اكتب سبب التوقف."},
	"err_agent_state":       {"این تغییر وضعیت اکنون ممکن نیست.", "This state change is not possible now.", "تغيير الحالة هذا غير ممكن الآن."},
	"err_call":              {"این تماس یافت نشد یا با شما نبوده است.", "This call was not found or was not yours.", "لم توجد هذه المكالمة أو لم تكن لك."},
	"err_latlong":           {"عرض و طول جغرافیایی نادرست است.", "Latitude and longitude are not valid.", "خط العرض والطول غير صالحين."},
	"err_service":           {"خدمت را انتخاب کنید.", "Choose a service.", "اختر الخدمة."},
	"err_outcome":           {"نتیجه تماس را انتخاب کنید.", "Choose the call's outcome.", "اختر نتيجة المكالمة."},
	"err_search":            {"کد رهگیری، شماره یا وضعیت نادرست است.", "The tracking code, number or status is not valid.", "رمز التتبع أو الرقم أو الحالة غير صالح."},
	"queues":                {"صف‌های تماس", "Call queues", "طوابير المكالمات"},
	"queue":                 {"صف", "Queue", "الطابور"},
	"waiting":               {"در انتظار", "Waiting", "بالانتظار"},
	"ringing_n":             {"در حال زنگ", "Ringing", "يرن"},
	"longest_wait":          {"طولانی‌ترین انتظار (ثانیه)", "Longest wait (s)", "أطول انتظار (ث)"},
	"service_level":         {"سطح خدمت", "Service level", "مستوى الخدمة"},
	"abandon_rate":          {"نرخ رهاشده", "Abandon rate", "نسبة المتروكة"},
	"answered_n":            {"پاسخ‌داده", "Answered", "المُجاب"},
	"per_portal":            {"امروز به تفکیک درگاه", "Today by portal", "اليوم حسب البوابة"},
	"portal":                {"درگاه", "Portal", "البوابة"},
	"near_deadline":         {"پرونده‌های نزدیک به مهلت (۲۴ ساعت)", "Cases near their deadline (24 h)", "ملفات قريبة من المهلة (٢٤ ساعة)"},
	"escalated_cases":       {"پرونده‌های ارجاع‌شده به سطح بالاتر", "Escalated cases", "الملفات المصعّدة"},
	"requests":              {"درخواست‌ها", "Requests", "الطلبات"},
	"cases_n":               {"پرونده‌ها", "Cases", "الملفات"},
	"level":                 {"سطح", "Level", "المستوى"},
	"rep_from":              {"از تاریخ", "From", "من تاريخ"},
	"rep_to":                {"تا تاریخ", "To", "إلى تاريخ"},
	"rep_date_hint":         {"تاریخ شمسی، مانند ۱۴۰۵/۰۸/۰۱", "Jalali date, e.g. 1405/08/01", "تاريخ هجري شمسي، مثل ۱۴۰۵/۰۸/۰۱"},
	"rep_show":              {"نمایش گزارش", "Show report", "عرض التقرير"},
	"rep_csv":               {"دریافت فایل CSV همین بازه", "Download CSV for this range", "تنزيل ملف CSV لهذه الفترة"},
	"report_bad_date":       {"تاریخ «%s» درست نیست؛ تاریخ شمسی را مانند ۱۴۰۵/۰۸/۰۱ بنویسید.", "The date “%s” is not valid; write a Jalali date like 1405/08/01.", "التاريخ «%s» غير صحيح؛ اكتب تاريخاً هجرياً شمسياً مثل ۱۴۰۵/۰۸/۰۱."},
	"report_to_before_from": {"تاریخ پایان پیش از تاریخ آغاز است.", "The end date is before the start date.", "تاريخ النهاية قبل تاريخ البداية."},
	"rep_no_stats":          {"آمار در این نوع پایگاه داده در دسترس نیست. لطفاً با مدیر سامانه تماس بگیرید.", "Statistics are not available with this store. Please contact the administrator.", "الإحصاءات غير متاحة مع قاعدة البيانات هذه. يرجى التواصل مع مدير النظام."},
	"rep_resolved":          {"پاسخ در همان تماس (حل در لحظه)", "Resolved on the spot", "حُلّ فوراً"},
	"rep_result3d":          {"پرونده‌های دارای نتیجه در ۳ روز", "Cases with a result within 3 days", "ملفات لها نتيجة خلال ٣ أيام"},
	"rep_satisfaction":      {"میانگین رضایت شهروندان", "Mean citizen satisfaction", "متوسط رضا المواطنين"},
	"rep_of_messages":       {"%d از %d پیام", "%d of %d messages", "%d من %d رسالة"},
	"rep_of_cases":          {"%d از %d پرونده", "%d of %d cases", "%d من %d ملف"},
	"rep_rated":             {"از %d نظر", "from %d ratings", "من %d تقييم"},
	"rep_compliance":        {"رعایت مهلت به تفکیک واحد", "Deadline compliance by department", "الالتزام بالمهلة حسب الدائرة"},
	"rep_escalations":       {"ارجاع به سطح بالاتر (پرونده‌ها به تفکیک بالاترین سطح)", "Escalations (cases by highest level)", "التصعيد (الملفات حسب أعلى مستوى)"},
	"rep_level_n":           {"سطح %d", "Level %d", "المستوى %d"},
	"rep_messages_portal":   {"پیام‌ها به تفکیک درگاه", "Messages by portal", "الرسائل حسب البوابة"},
	"rep_cases_portal":      {"پرونده‌ها به تفکیک درگاه", "Cases by portal", "الملفات حسب البوابة"},
	"rep_cases_district":    {"پرونده‌ها به تفکیک منطقه", "Cases by district", "الملفات حسب المنطقة"},
	"rep_mean_hours":        {"میانگین %s ساعت تا نتیجه", "mean %s hours to result", "متوسط %s ساعة حتى النتيجة"},
	"rep_of_5":              {"%s از ۵", "%s / 5", "%s من ٥"},
	"rep_unknown":           {"نامشخص", "Unknown", "غير محدد"},
	"rep_empty":             {"در این بازه داده‌ای نیست.", "No data in this range.", "لا توجد بيانات في هذه الفترة."},
	"rep_range":             {"بازه: %s تا %s", "Range: %s to %s", "الفترة: من %s إلى %s"},
	"rep_summary":           {"%d پیام تصمیم‌گرفته، %d پرونده ثبت‌شده", "%d messages decided, %d cases opened", "%d رسالة مُعالجة، %d ملف مفتوح"},
}

// lang picks the language: ?lang= (remembered in a cookie), the cookie,
// then Persian.
func (c *Console) lang(w http.ResponseWriter, r *http.Request) string {
	if q := r.URL.Query().Get("lang"); q != "" && index(q) >= 0 {
		http.SetCookie(w, &http.Cookie{Name: "dargah_lang", Value: q, Path: c.cfg.Prefix, MaxAge: 365 * 24 * 3600,
			HttpOnly: true, Secure: c.secure(r), SameSite: http.SameSiteLaxMode})
		return q
	}
	if ck, err := r.Cookie("dargah_lang"); err == nil && index(ck.Value) >= 0 {
		return ck.Value
	}
	return langs[0]
}

func index(lang string) int {
	for i, l := range langs {
		if l == lang {
			return i
		}
	}
	return -1
}

// translate returns key in lang; an unknown key shows itself so a missing
// string is visible, not blank.
func translate(lang, key string) string {
	m, ok := messages[key]
	if !ok {
		return key
	}
	if i := index(lang); i >= 0 && m[i] != "" {
		return m[i]
	}
	return m[0]
}

func dir(lang string) string {
	if lang == "en" {
		return "ltr"
	}
	return "rtl"
}

// formatDate shows t as a Jalali date and time in Tehran, with Persian
// digits for fa and ar readers and the Gregorian date alongside for en.
func formatDate(lang string, t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	switch lang {
	case "en":
		return workcal.FormatJalali(t, true) + " (" + t.In(workcal.Tehran()).Format("2 Jan 2006") + ")"
	default:
		return workcal.FormatJalaliFa(t, true)
	}
}

// digits writes ASCII digits in Persian for fa and ar.
func digits(lang, s string) string {
	if lang == "en" {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return '۰' + (r - '0')
		}
		return r
	}, s)
}
