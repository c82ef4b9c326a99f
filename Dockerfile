# Layer Lab in a container: one Streamlit replica on port 8501.
# Scale out by running several behind a load balancer with sticky sessions (docs/deployment.md).
FROM python:3.11-slim
WORKDIR /app
COPY requirements.txt .
# Point pip at a CPU-only wheel index at build time if you do not want torch's CUDA build:
#   docker build --build-arg PIP_INDEX_URL=<your CPU wheel index> .
ARG PIP_INDEX_URL
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
ENV STREAMLIT_SERVER_ADDRESS=0.0.0.0 STREAMLIT_SERVER_PORT=8501
EXPOSE 8501
HEALTHCHECK CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health')"
# Every replica must share the same secret: pass it at run time (-e STREAMLIT_SERVER_COOKIE_SECRET=...).
CMD ["python", "-m", "streamlit", "run", "app.py"]
