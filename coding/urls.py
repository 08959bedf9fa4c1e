from django.urls import path

from . import views

app_name = "coding"

urlpatterns = [
    path("", views.project_list, name="project-list"),
    path("projects/<int:project_id>/", views.project_detail, name="project-detail"),
    path("projects/<int:project_id>/import/", views.import_upload, name="import-upload"),
    path("cases/<int:case_id>/", views.case_detail, name="case-detail"),
    path("imports/<uuid:job_id>/", views.import_preview, name="import-preview"),
    path("jobs/<uuid:job_id>/", views.job_detail, name="job-detail"),
    path("jobs/<uuid:job_id>/download/", views.job_download, name="job-download"),
    path("transcripts/<int:transcript_id>/", views.transcript_detail, name="transcript-detail"),
]
